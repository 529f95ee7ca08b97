"""Language detection from excerpts: paragraph-length texts in the site's languages."""
# ruff: noqa: RUF001  (Turkish, Greek and Cyrillic letters look like Latin ones on purpose)

from __future__ import annotations

import pytest

from sfb_feeds.detect import detect_language
from sfb_feeds.language import canonical_tag

# Two paragraphs per language, written for these tests: a walkout, and a rent strike.
WALKOUT = {
    "en": "Workers across the region walked out this morning after the company announced plans "
          "to close two factories and cut hundreds of jobs. The union says the decision was "
          "taken without any consultation, and local activists have called a demonstration for "
          "Saturday to demand that the government step in and keep the plants open.",
    "pl": "Pracownicy z całego regionu odeszli dziś rano od stanowisk pracy, po tym jak firma "
          "ogłosiła plany zamknięcia dwóch fabryk i zwolnienia setek osób. Związek zawodowy "
          "twierdzi, że decyzję podjęto bez żadnych konsultacji, a lokalni aktywiści wzywają na "
          "sobotnią demonstrację, żądając, by rząd interweniował i utrzymał zakłady.",
    "tr": "Bölgedeki işçiler, şirketin iki fabrikayı kapatma ve yüzlerce kişiyi işten çıkarma "
          "planını açıklamasının ardından bu sabah iş bıraktı. Sendika, kararın hiçbir görüşme "
          "yapılmadan alındığını söylüyor. Yerel aktivistler cumartesi günü hükümetin müdahale "
          "etmesini ve fabrikaların açık kalmasını talep eden bir gösteri çağrısı yaptı.",
    "da": "Arbejdere i hele regionen nedlagde arbejdet i morges, efter at virksomheden meddelte, "
          "at den vil lukke to fabrikker og fyre flere hundrede ansatte. Fagforeningen siger, at "
          "beslutningen blev truffet uden nogen form for forhandling, og lokale aktivister har "
          "indkaldt til en demonstration på lørdag for at kræve, at regeringen griber ind.",
    "es": "Los trabajadores de toda la región abandonaron hoy sus puestos después de que la "
          "empresa anunciara el cierre de dos fábricas y el despido de cientos de personas. El "
          "sindicato afirma que la decisión se tomó sin ninguna consulta, y los activistas locales "
          "han convocado una manifestación el sábado para exigir que el gobierno intervenga.",
    "fr": "Les travailleurs de toute la région ont cessé le travail ce matin après que "
          "l'entreprise a annoncé la fermeture de deux usines et la suppression de centaines "
          "d'emplois. Le syndicat affirme que la décision a été prise sans aucune consultation, "
          "et des militants locaux appellent à manifester samedi.",
    "de": "Beschäftigte in der ganzen Region haben heute Morgen die Arbeit niedergelegt, nachdem "
          "das Unternehmen angekündigt hatte, zwei Fabriken zu schließen und Hunderte Stellen zu "
          "streichen. Die Gewerkschaft erklärt, die Entscheidung sei ohne jede Beratung gefallen. "
          "Aktivistinnen und Aktivisten vor Ort rufen für Samstag zu einer Demonstration auf.",
    "sr-Latn": "Radnici iz celog regiona napustili su jutros posao nakon što je kompanija "
               "objavila da će zatvoriti dve fabrike i otpustiti stotine ljudi. Sindikat kaže da "
               "je odluka doneta bez ikakvog dogovora sa zaposlenima, a lokalni aktivisti pozivaju "
               "na protest u subotu kako bi zahtevali da vlada reaguje.",
    "ar": "ترك العمال في جميع أنحاء المنطقة أعمالهم صباح اليوم بعد أن أعلنت الشركة عن خطط لإغلاق "
          "مصنعين وتسريح مئات الموظفين. وتقول النقابة إن القرار اتخذ دون أي تشاور، وقد دعا ناشطون "
          "محليون إلى مظاهرة يوم السبت للمطالبة بتدخل الحكومة وإبقاء المصانع مفتوحة.",
    "ko": "회사가 공장 두 곳을 폐쇄하고 수백 명을 해고하겠다고 발표하자 오늘 아침 지역 전체의 "
          "노동자들이 일손을 놓았다. 노동조합은 아무런 협의 없이 결정이 내려졌다고 밝혔다. 지역 "
          "활동가들은 토요일에 집회를 열어 정부가 개입해 공장을 계속 운영하도록 요구할 예정이다.",
    "el": "Οι εργαζόμενοι σε όλη την περιοχή σταμάτησαν τη δουλειά σήμερα το πρωί, αφού η εταιρεία "
          "ανακοίνωσε ότι θα κλείσει δύο εργοστάσια και θα απολύσει εκατοντάδες ανθρώπους. Το "
          "σωματείο λέει ότι η απόφαση πάρθηκε χωρίς καμία διαβούλευση, και τοπικοί ακτιβιστές "
          "καλούν σε διαδήλωση το Σάββατο.",
}

RENT = {
    "en": "Rents in the capital have risen three times faster than wages over the last decade, "
          "and thousands of families now spend more than half of their income on housing. "
          "Tenants' groups are organising rent strikes in several neighbourhoods, and they are "
          "asking trade unions to support them with money, meeting rooms and legal advice.",
    "pl": "Czynsze w stolicy rosły w ostatniej dekadzie trzy razy szybciej niż płace, a tysiące "
          "rodzin wydaje dziś na mieszkanie ponad połowę swoich dochodów. Stowarzyszenia lokatorów "
          "organizują strajki czynszowe w kilku dzielnicach i proszą związki zawodowe o wsparcie "
          "finansowe, sale na zebrania oraz pomoc prawną.",
    "tr": "Başkentte kiralar son on yılda ücretlerden üç kat daha hızlı arttı ve binlerce aile "
          "artık gelirinin yarısından fazlasını barınmaya harcıyor. Kiracı grupları birçok "
          "mahallede kira grevleri örgütlüyor ve sendikalardan para, toplantı salonu ve hukuki "
          "destek istiyor.",
    "da": "Huslejen i hovedstaden er steget tre gange hurtigere end lønningerne i løbet af det "
          "seneste årti, og tusindvis af familier bruger nu mere end halvdelen af deres indkomst "
          "på bolig. Lejerforeninger organiserer huslejestrejker i flere kvarterer og beder "
          "fagbevægelsen om støtte i form af penge, mødelokaler og juridisk rådgivning.",
    "es": "Los alquileres en la capital han subido tres veces más rápido que los salarios durante "
          "la última década, y miles de familias gastan ya más de la mitad de sus ingresos en la "
          "vivienda. Los sindicatos de inquilinas organizan huelgas de alquiler en varios barrios "
          "y piden dinero, locales para reunirse y asesoría jurídica.",
    "fr": "Dans la capitale, les loyers ont augmenté trois fois plus vite que les salaires au "
          "cours de la dernière décennie, et des milliers de familles consacrent désormais plus "
          "de la moitié de leurs revenus au logement. Des associations de locataires organisent "
          "des grèves des loyers dans plusieurs quartiers.",
    "de": "Die Mieten in der Hauptstadt sind im letzten Jahrzehnt dreimal so schnell gestiegen wie "
          "die Löhne, und tausende Familien geben inzwischen mehr als die Hälfte ihres Einkommens "
          "für das Wohnen aus. Mietergruppen organisieren in mehreren Stadtteilen Mietstreiks und "
          "bitten die Gewerkschaften um Geld, Räume und rechtliche Beratung.",
    "sr-Latn": "Kirije u glavnom gradu rasle su u poslednjoj deceniji tri puta brže od plata, a "
               "hiljade porodica sada troši više od polovine svojih prihoda na stanovanje. "
               "Udruženja stanara organizuju štrajkove neplaćanja kirije u nekoliko delova grada "
               "i traže od sindikata novac, prostor za sastanke i pravnu pomoć.",
    "ar": "ارتفعت الإيجارات في العاصمة خلال العقد الأخير بسرعة تفوق الأجور بثلاث مرات، وأصبحت "
          "آلاف العائلات تنفق أكثر من نصف دخلها على السكن. وتنظم لجان المستأجرين إضرابات عن دفع "
          "الإيجار في عدة أحياء، وتطلب من النقابات دعمها بالمال وقاعات الاجتماعات والاستشارات "
          "القانونية.",
    "ko": "지난 10년 동안 수도의 월세는 임금보다 세 배나 빠르게 올랐고, 이제 수많은 가족이 "
          "소득의 절반 이상을 주거비로 쓰고 있다. 세입자 모임들은 여러 동네에서 월세 거부 운동을 "
          "조직하고 있으며, 노동조합에 자금과 회의 장소, 법률 상담을 지원해 달라고 요청하고 있다.",
    "el": "Τα ενοίκια στην πρωτεύουσα αυξήθηκαν τρεις φορές πιο γρήγορα από τους μισθούς την "
          "τελευταία δεκαετία, και χιλιάδες οικογένειες ξοδεύουν πλέον πάνω από το μισό εισόδημά "
          "τους για τη στέγαση. Ομάδες ενοικιαστών οργανώνουν απεργίες πληρωμής ενοικίου σε "
          "αρκετές γειτονιές και ζητούν από τα συνδικάτα νομική βοήθεια.",
}

CROATIAN = ("Radnici iz cijele regije jutros su napustili posao nakon što je tvrtka objavila da "
            "će zatvoriti dvije tvornice i otpustiti stotine ljudi. Sindikat tvrdi da je odluka "
            "donesena bez ikakvog savjetovanja s radnicima, a lokalni aktivisti pozivaju na "
            "prosvjed u subotu kako bi zahtijevali da se vlada uključi.")
BOSNIAN = ("Radnici iz cijele regije jutros su napustili posao nakon što je firma objavila da će "
           "zatvoriti dvije fabrike i otpustiti stotine ljudi. Historija ovog grada pokazuje da "
           "se radnici mogu boriti, a sindikat je za sljedeću sedmicu najavio protest.")
SERBIAN_CYRILLIC = ("Радници из целог региона су јутрос напустили посао након што је компанија "
                    "објавила да ће затворити две фабрике и отпустити стотине људи. Синдикат каже "
                    "да је одлука донета без икаквог договора са запосленима.")


def test_texts_are_paragraphs_not_phrases() -> None:
    # Keeps the tables honest. Korean and Turkish pack more into a word (Korean spaces
    # separate whole phrases), so their floor is lower.
    for table in (WALKOUT, RENT):
        for language, text in table.items():
            floor = 30 if language in {"ko", "tr"} else 40
            assert floor <= len(text.split()) <= 80, language


@pytest.mark.parametrize("table", [WALKOUT, RENT], ids=["walkout", "rent"])
@pytest.mark.parametrize("language", sorted(WALKOUT))
def test_paragraph_language(table: dict[str, str], language: str) -> None:
    assert detect_language(table[language]) == language


def test_several_paragraphs_with_an_excerpt_cut() -> None:
    text = WALKOUT["pl"] + "\n\n" + RENT["pl"] + " ..."
    assert detect_language(text) == "pl"


@pytest.mark.parametrize(("text", "expected"), [
    (CROATIAN, "hr"),
    (BOSNIAN, "bs"),
    (SERBIAN_CYRILLIC, "sr-Cyrl"),
    (WALKOUT["sr-Latn"] + "\n\n" + RENT["sr-Latn"], "sr-Latn"),
])
def test_serbian_croatian_bosnian_are_told_apart(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_tags_are_canonical() -> None:
    for table in (WALKOUT, RENT):
        for text in table.values():
            found = detect_language(text)
            assert found is not None
            assert canonical_tag(found) == found


def test_byline_and_web_address_do_not_decide() -> None:
    text = (f"By the Workers' Solidarity Network\n\nhttps://www.example.org/statements/x\n\n"
            f"{WALKOUT['pl']}")
    assert detect_language(text) == "pl"


def test_majority_of_letters_wins() -> None:
    text = f"{WALKOUT['de']}\n\n{RENT['de']}\n\n{WALKOUT['en']}"
    assert detect_language(text) == "de"


@pytest.mark.parametrize("text", [
    "",
    "   \n\n ",
    "OK",
    "1234 5678 ... 2015",
    "https://www.example.org/statements/a-long-address-with-words-in-it",
    "Hello there",
])
def test_unsure_gives_none(text: str) -> None:
    assert detect_language(text) is None


def test_no_clear_majority_gives_none() -> None:
    text = f"{WALKOUT['en']}\n\n{WALKOUT['es']}\n\n{WALKOUT['fr']}"
    assert detect_language(text) is None


def test_deterministic() -> None:
    answers = {detect_language(RENT[language]) for language in ("da", "da", "da")}
    assert answers == {"da"}


# Short texts written for these tests, several per variety. Serbian in Latin script is
# told by its ekavian spelling (veruje, sveta, doneti, delili), which lingua alone reads as
# Bosnian; Bosnian and Croatian are ijekavian, Croatian has words of its own.
BCS_TEXTS = [
    ('Većina radnika veruje da uprkos pretnjama uprave štrajk mora da se nastavi. Hiljade '
     'ljudi iz celog sveta poslale su poruke podrške sindikatu.', 'sr-Latn'),
    ('Vlada je obećala da će doneti novi zakon o radu pre kraja godine, ali sindikati '
     'tvrde da bi on samo produžio radno vreme i smanjio plate.', 'sr-Latn'),
    ('Studenti i profesori delili su letke ispred fakulteta i pozivali građane da se '
     'pridruže protestu protiv privatizacije obrazovanja. Policija nije intervenisala.', 'sr-Latn'),
    ('Stanari su odlučili da ne plaćaju kiriju dok vlasnik ne popravi zgradu. Kažu da su '
     'mesecima čekali na odgovor i da više ne veruju obećanjima.', 'sr-Latn'),
    ('Uprkos zabrani, hiljade ljudi izašle su na ulice. Svi su želeli da vide kako '
     'predsednik odgovara na zahteve radnika, ali on je ćutao.', 'sr-Latn'),
    ('Radnici fabrike u Tuzli već sedmicu dana protestuju ispred zgrade kantonalne vlade. '
     'Traže isplatu zaostalih plata i uplatu doprinosa za penzijsko osiguranje.', 'bs'),
    ('Hiljade ljudi izašle su na ulice Sarajeva uprkos kiši. Zahtijevali su da vlast '
     'prestane dijeliti novac stranačkim prijateljima i da cijene hljeba ostanu pod '
     'kontrolom.', 'bs'),
    ('Historija radničkog pokreta u Bosni pokazuje da su promjene uvijek dolazile odozdo, '
     'kada su ljudi vjerovali da zajedno mogu nešto postići.', 'bs'),
    ('Tisuće radnika okupilo se na prosvjedu ispred Vlade tražeći povećanje mirovina i '
     'plaća. Sindikati najavljuju novi prosvjed sljedećeg tjedna ako ne dobiju odgovor.', 'hr'),
    ('Unatoč obećanjima ministra, tvornica u Splitu zatvara se krajem listopada, a više od'
     ' dvjesto obitelji ostaje bez primanja.', 'hr'),
    ('Studenti Sveučilišta u Zagrebu tijekom cijelog su tjedna sudjelovali u blokadi '
     'fakulteta, tražeći besplatno obrazovanje za sve.', 'hr'),
    ('Sindikat veruje da će radnici uprkos svemu uspeti da odbrane svoja prava i da će '
     'poslodavci morati da popuste.', 'sr-Latn'),
    ('Odluku o štrajku treba doneti odmah, jer su radnici već delili letke po gradu i '
     'pozivali komšije na zbor.', 'sr-Latn'),
    ('Hiljade ljudi su se okupile ispred skupštine. Hteli su da razumeju zašto im niko ne '
     'odgovara na pisma koja šalju godinama.', 'sr-Latn'),
    ('Mladi koji su ostali bez posla sve češće odlaze u inostranstvo, uprkos tome što su '
     'hteli da žive i rade u svojoj zemlji.', 'sr-Latn'),
    ('Borba za bolje uslove rada nije završena. Radnici iz sveta koji su ih podržali '
     'obećali su da će doneti novac za štrajkački fond.', 'sr-Latn'),
    ('Sindikat vjeruje da će radnici uprkos svemu uspjeti odbraniti svoja prava, a '
     'poslodavci će morati popustiti.', 'bs'),
    ('Odluku o štrajku treba donijeti odmah, jer su radnici već dijelili letke po gradu i '
     'pozivali komšije na zbor.', 'bs'),
    ('Sindikat vjeruje da će radnici usprkos svemu uspjeti obraniti svoja prava, a '
     'poslodavci će morati popustiti.', 'hr'),
    ('Odluku o štrajku treba donijeti odmah, jer su radnici već dijelili letke po gradu i '
     'pozivali susjede na skup tijekom vikenda.', 'hr'),
]


@pytest.mark.parametrize(("text", "expected"), BCS_TEXTS)
def test_serbian_latin_ekavian_bosnian_croatian(text: str, expected: str) -> None:
    assert detect_language(text) == expected
