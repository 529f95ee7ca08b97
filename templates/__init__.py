"""Email templates shipped with sfb-feeds (package data; see templates/email/)."""
