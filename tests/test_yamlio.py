"""The YAML reader (libyaml when present) gives the pure-Python safe loader's nodes and tags."""

from __future__ import annotations

import pytest
import yaml

from sfb_feeds import yamlio

DOCUMENTS = [
    "title: A statement\ndate: 2024-03-08\ndraft: no\ncount: 12\nratio: 1.5\nnothing: ~\n",
    "empty:\nnull_word: null\nNULL: Null\nyes_word: Yes\non: off\ntilde: '~'\n",
    "hex: 0x1F\noctal: 017\nsexagesimal: 1:30\nnan: .nan\ninf: -.inf\nmerge: <<\n",
    "when: 2024-03-08T10:00:00+01:00\nvalue: =\nlist: [1, two, 3.0, true, null, '']\n",
    "text: |\n  Paragraph one.\n\n  Paragraph two.\nquoted: \"12\"\nplain: -12\n",
    "- 1\n- - nested\n  - {a: 1, b: [x, y]}\n- !!str 5\n- ! 5\n- '' \n- ''\n",
    "تاريخ: ٢٠٢٤\n제목: 성명\nÉvénement: +1\n_under: _x\n.dot: .5\n",
]


def tree(node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        # (a plain scalar's style is "" from libyaml, None from the pure loader)
        return (node.tag, node.value, node.start_mark.line, node.style or None)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [tree(item) for item in node.value])
    return (node.tag, [(tree(key), tree(value)) for key, value in node.value])


def test_every_node_gets_the_tag_pyyaml_would_give() -> None:
    for text in DOCUMENTS:
        mine = yamlio.compose(text)
        theirs = yaml.compose(text, Loader=yaml.SafeLoader)
        assert mine is not None and theirs is not None
        assert tree(mine) == tree(theirs), text


def test_tags_cover_every_kind_of_implicit_scalar() -> None:
    """The documents above meet every implicit resolver PyYAML has (so the comparison
    checks each of them) and plain scalars none of them matches."""
    met: set[str] = set()
    for text in DOCUMENTS:
        stack = [yamlio.compose(text)]
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.ScalarNode):
                met.add(node.tag)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                stack.extend(item for pair in node.value for item in pair)
    known = {tag for resolvers in yaml.SafeLoader.yaml_implicit_resolvers.values()
             for tag, _ in resolvers}
    known.discard("tag:yaml.org,2002:yaml")  # a lone !, & or *: not a plain scalar in YAML
    assert known | {"tag:yaml.org,2002:str"} <= met


@pytest.mark.parametrize("reader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
def test_a_character_yaml_refuses_is_named_with_its_line_by_either_reader(
        reader: type[yaml.SafeLoader], monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml and the pure reader (which checks in its constructor) say the same."""
    monkeypatch.setattr(yamlio, "_READER", reader)
    with pytest.raises(yamlio.YamlProblem) as caught:
        yamlio.compose("title: Łódź\nexcerpt: |\n  a\x85b\n  c\x07d\n")
    assert (caught.value.line, caught.value.message) == (
        4, "contains the control character U+0007, which YAML files cannot carry; remove it")
