from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.process.extract import (
    Extraction,
    TextStatus,
    extract_article,
    http_failure,
    needs_full_text,
    status_for_http,
)

PAGES = Path(__file__).parent / "fixtures" / "pages"
NOW = datetime(2025, 11, 25, 6, 0, tzinfo=UTC)
ARTICLE_URL = "https://www.dailycourier.example/world/africa/2025/03/04/gambian-migrants-form-group"

PARAGRAPHS = (
    "Border officials said on Monday that more than two hundred people had been rescued from"
    " three small boats in the strait overnight, most of them from Sudan and Eritrea.",
    "The regional governor called for more reception places and said the local shelter had"
    " been over capacity for most of the autumn, with families sleeping in tents.",
    "Aid groups working in the port said they were short of blankets and medical staff, and"
    " asked the national government to speed up transfers to the mainland.",
    "The interior ministry said arrivals this year were slightly lower than last year but that"
    " the number of unaccompanied children had risen sharply since the summer.",
)


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def extract(html: bytes | str, url: str = ARTICLE_URL) -> Extraction:
    return extract_article(html, url, now=NOW)


def article_html(
    *, head: str = "", figure: str = "", body_extra: str = "", paragraphs: int = 4
) -> str:
    """A small but complete news article page around the parts a test varies."""
    text = "".join(f"<p>{PARAGRAPHS[i % len(PARAGRAPHS)]}</p>\n" for i in range(paragraphs))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Hundreds rescued in the strait overnight</title>
<meta property="og:type" content="article">{head}</head>
<body><header><nav><a href="/">Home</a> <a href="/world/">World</a></nav></header>
<article><h1>Hundreds rescued in the strait overnight</h1>{figure}
<div class="body">{text}</div>{body_extra}</article>
<footer><p>© 2025 Harbour Times</p></footer></body></html>"""


# --- fixtures: one realistic page per situation ------------------------------------------


def test_news_article_text_and_metadata() -> None:
    found = extract(page("news_article.html"))
    assert found.status is TextStatus.FULL
    assert found.reason.startswith("article text:")
    assert found.text.startswith(
        "Returnees who suffered abuse"
    )  # the standfirst, not the repeated headline
    assert "BANJUL, Gambia (AFP) — Gambian migrants who suffered beatings" in found.text
    assert "The Association of Returnees from Libya, registered in Banjul" in found.text
    assert found.text.rstrip().endswith("accusations Libyan authorities reject.")
    assert found.title == "Gambian migrants abused in Libya form group to seek justice"
    assert found.author == "Aminata Ceesay"
    assert found.site_name == "The Daily Courier"
    assert found.published == datetime(2025, 3, 4, 9, 15, tzinfo=UTC)
    assert found.language == "en"
    assert found.image_url == (
        "https://cdn.dailycourier.example/images/2025/03/returnees-banjul-1200x630.jpg"
    )
    assert found.image_caption == (
        "Members of the new association meet in Banjul on 2 March to record testimonies of abuse."
    )
    assert found.image_credit == "Seyllou Diallo/AFP"


@pytest.mark.parametrize(
    "boilerplate",
    [
        "We use cookies",  # cookie banner
        "Accept all",
        "Politics",  # navigation
        "Share on Facebook",
        "UN report details conditions",  # related links inside the body
        "Mediterranean crossings fall",
        "Sign up for Africa Briefing",  # newsletter box
        "weekly newsletter",
        "Aid cuts hit food programmes",  # more stories
        "All rights reserved",  # footer
        "Members of the new association meet",  # the caption is a field, not body text
        "Updated 4 March",  # dates and byline are fields too
        "By Aminata Ceesay",
    ],
)
def test_news_article_leaves_boilerplate_out(boilerplate: str) -> None:
    assert boilerplate not in extract(page("news_article.html")).text


def test_french_article() -> None:
    found = extract(page("article_fr.html"), "https://www.journaldusud.example/international/x/")
    assert found.status is TextStatus.FULL
    assert found.language == "fr"
    assert "Plus de 1 800 personnes ont débarqué sur l'île italienne de Lampedusa" in found.text
    assert "selon le ministère de l'Intérieur." in found.text
    for boilerplate in (
        "Lire aussi",
        "Naufrage au large",
        "cookies",
        "lettre d'information",
        "Sur le même sujet",
        "Tunisie",
    ):
        assert boilerplate not in found.text
    assert found.published == datetime(2025, 6, 12, 5, 45, tzinfo=UTC)
    assert found.author == "Claire Moreau"
    assert found.image_url == (
        "https://www.journaldusud.example/wp-content/uploads/2025/06/lampedusa-port.jpg"
    )
    assert found.image_caption == (
        "Des migrants secourus en mer débarquent dans le port de Lampedusa, le 10 juin 2025."
    )
    assert found.image_credit == "Marco Rossi / AFP"


def test_spanish_article() -> None:
    found = extract(page("article_es.html"), "https://www.diarioatlantico.example/canarias/x.html")
    assert found.status is TextStatus.FULL
    assert found.language == "es"  # from og:locale: the page has no <html lang>
    assert "Más de 500 migrantes llegaron este martes a las islas Canarias" in found.text
    assert "la mayoría procedentes de Malí, Senegal y Gambia." in found.text
    for boilerplate in (
        "Utilizamos cookies",
        "Noticias relacionadas",
        "menores no acompañados El Gobierno",
        "boletín",
        "Apúntate",
    ):
        assert boilerplate not in found.text
    assert found.published == datetime(2025, 10, 21, 17, 5, tzinfo=UTC)
    assert found.image_caption == (
        "Un cayuco con 180 personas a bordo llega al muelle de Arguineguín, este martes."
    )
    assert found.image_credit == "Ángel Medina G. (EFE)"


def test_cloudflare_challenge_is_blocked() -> None:
    found = extract(page("cloudflare_challenge.html"))
    assert found.status is TextStatus.BLOCKED
    assert found.reason == "bot challenge page (Cloudflare)"
    assert found.text == ""
    assert found.title is None


def test_access_denied_is_blocked() -> None:
    found = extract(page("access_denied.html"))
    assert found.status is TextStatus.BLOCKED
    assert found.reason == "access denied page (Akamai)"
    assert found.text == ""


def test_paywall_keeps_the_partial_text() -> None:
    found = extract(page("paywall.html"))
    assert found.status is TextStatus.PAYWALL
    assert found.reason.startswith("paywall: isAccessibleForFree=false and ")
    assert found.reason.endswith(f" {len(found.text.split())} words")
    assert "The trail begins at a beach in Necoclí" in found.text
    assert "Subscribe to keep reading" not in found.text
    assert "unlimited access" not in found.text
    assert found.author == "Daniel Ortega Ruiz"
    assert found.published == datetime(2025, 8, 19, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["section_index.html", "home.html"])
def test_listing_pages_are_not_articles(name: str) -> None:
    found = extract(page(name), "https://www.dailycourier.example/world/migration/")
    assert found.status is TextStatus.NOT_ARTICLE
    assert found.reason.startswith("listing page: ")
    assert found.text == ""


def test_listing_page_has_no_guessed_date() -> None:
    found = extract(page("section_index.html"), "https://www.dailycourier.example/world/migration/")
    assert found.status is TextStatus.NOT_ARTICLE
    assert found.published is None  # the teasers' dates are not the page's


def test_listing_needs_no_url_hint() -> None:
    found = extract(page("section_index.html"), "https://www.dailycourier.example/migration-news")
    assert found.status is TextStatus.NOT_ARTICLE
    assert "40 teasers" in found.reason


@pytest.mark.parametrize("path", ["/", "/tag/migration/", "/section/world/"])
def test_listing_url_alone_does_not_make_an_article_a_listing(path: str) -> None:
    found = extract(page("news_article.html"), "https://www.dailycourier.example" + path)
    assert found.status is TextStatus.FULL


def test_cp1252_page_declared_utf8_is_read_right() -> None:
    raw = page("cp1252_mislabelled.html")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    found = extract(raw)
    assert found.status is TextStatus.FULL
    assert found.title == "Sénégal : le départ des pirogues inquiète les pêcheurs de Mbour"
    assert "l’archipel espagnol des Canaries" in found.text
    assert "« Nos enfants ne voient plus d’avenir ici »" in found.text
    assert "\ufffd" not in found.text
    assert found.language == "fr"


RUSSIAN_PAGE = """<!DOCTYPE html><html lang="ru"><head>
<title>Мигранты из Центральной Азии возвращаются домой</title></head><body><article>
<h1>Мигранты из Центральной Азии возвращаются домой</h1>
<p>Тысячи трудовых мигрантов из Таджикистана и Узбекистана вернулись домой этой осенью, сообщили
в министерстве труда, ссылаясь на данные пограничной службы и транспортных компаний.</p>
<p>По словам чиновников, многие из них потеряли работу на стройках, а другие не смогли продлить
разрешения на работу после изменения правил, вступивших в силу летом этого года.</p>
<p>Международные организации призвали власти помочь вернувшимся семьям с жильём, медицинской
помощью и поиском работы, особенно в сельских районах, где рабочих мест не хватает.</p>
</article></body></html>"""


def test_charset_from_the_content_type_header() -> None:
    raw = RUSSIAN_PAGE.encode("cp1251")  # and no meta charset in the page
    found = extract_article(
        raw, ARTICLE_URL, now=NOW, content_type="text/html; charset=windows-1251"
    )
    assert found.status is TextStatus.FULL
    assert found.title == "Мигранты из Центральной Азии возвращаются домой"
    assert "Тысячи трудовых мигрантов из Таджикистана" in found.text
    assert extract(raw).title != found.title  # without the header the bytes are misread


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=ISO-8859-1", 'text/html;charset="latin1"', "text/html"]
)
def test_utf8_bytes_stay_utf8_whatever_the_header(content_type: str) -> None:
    raw = RUSSIAN_PAGE.encode("utf-8")
    found = extract_article(raw, ARTICLE_URL, now=NOW, content_type=content_type)
    assert found.title == "Мигранты из Центральной Азии возвращаются домой"


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "text/html; charset=nonsense"]
)
def test_header_charset_that_does_not_fit_gives_way_to_the_page(content_type: str) -> None:
    raw = page("cp1252_mislabelled.html")  # cp1252 bytes, the page says utf-8
    found = extract_article(raw, ARTICLE_URL, now=NOW, content_type=content_type)
    assert found.title == "Sénégal : le départ des pirogues inquiète les pêcheurs de Mbour"


def test_empty_body_is_not_an_article() -> None:
    found = extract(page("empty_body.html"))
    assert found.status is TextStatus.NOT_ARTICLE
    assert found.reason == "no article text: 0 words"
    assert found.text == ""


# --- blocked pages: strong markers only ---------------------------------------------------

CHALLENGES = {
    "cloudflare attention": (
        "<html><head><title>Attention Required! | Cloudflare</title></head><body>"
        "<h1>Sorry, you have been blocked</h1><p>You are unable to access example.com</p>"
        '<div class="cf-error-details"><h2>Why have I been blocked?</h2></div></body></html>',
        "access denied page (Cloudflare)",
    ),
    "datadome": (
        "<html><head><title>example.com</title></head><body><p>Please enable JS and disable"
        ' any ad blocker</p><script>var dd={"rt":"c","cid":"AHrlqAAA","host":'
        '"geo.captcha-delivery.com"}</script>'
        '<script src="https://ct.captcha-delivery.com/c.js"></script></body></html>',
        "bot challenge page (DataDome)",
    ),
    "perimeterx": (
        "<html><head><title>Access to this page has been denied</title></head><body>"
        "<p>Press &amp; Hold to confirm you are a human (and not a bot).</p>"
        '<div id="px-captcha"></div></body></html>',
        "bot challenge page (PerimeterX)",
    ),
    "checking browser": (
        "<html><head><title>www.example.com</title></head><body><h1>Checking your browser"
        " before accessing www.example.com.</h1><p>This process is automatic.</p></body></html>",
        "bot challenge page (Cloudflare)",
    ),
    "imperva": (
        "<html><head><title>Request Rejected</title></head><body><p>Request unsuccessful."
        " Incapsula incident ID: 1234000560123456789-123456789012345678</p></body></html>",
        "access denied page (Imperva)",
    ),
}


@pytest.mark.parametrize("name", sorted(CHALLENGES))
def test_challenge_pages_are_blocked(name: str) -> None:
    html, reason = CHALLENGES[name]
    found = extract(html)
    assert found.status is TextStatus.BLOCKED
    assert found.reason == reason
    assert found.text == ""


def test_article_about_blocking_is_not_blocked() -> None:
    quote = (
        '<p>Visitors saw a page titled "Just a moment..." or "Access Denied", and the words'
        ' "Checking your browser before accessing" the site, while others were told "Why have I'
        ' been blocked?" by the firewall, the report said.</p>'
    )
    found = extract(article_html(body_extra=quote, paragraphs=6))
    assert found.status is TextStatus.FULL
    assert "Checking your browser before accessing" in found.text


def test_cloudflare_script_on_a_normal_article_is_not_a_challenge() -> None:
    script = (
        "<script>(function(){window.__CF$cv$params={r:'8f1a2b3c',t:'MTc0MTA4MDAwMC4wMDAwMDA='};"
        "var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/scripts/jsd/"
        "main.js';document.getElementsByTagName('head')[0].appendChild(a);})();</script>"
    )
    found = extract(article_html(body_extra=script, paragraphs=2))
    assert found.status is TextStatus.FULL


LD = '<script type="application/ld+json">{}</script>'


# --- paywalls -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "json_ld",
    [
        '{"@type":"NewsArticle","isAccessibleForFree":false}',
        '{"@type":"NewsArticle","isAccessibleForFree":"false"}',
        '[{"@type":"NewsArticle","hasPart":[{"@type":"WebPageElement",'
        '"isAccessibleForFree":"False","cssSelector":".locked"}]}]',
        '{"@graph":[{"@type":"WebSite"},{"@type":"Article","isAccessibleForFree":"FALSE"}]}',
    ],
)
def test_paywall_marker_in_json_ld_any_form(json_ld: str) -> None:
    head = LD.format(json_ld)
    found = extract(article_html(head=head, paragraphs=2))
    assert found.status is TextStatus.PAYWALL
    assert found.reason.startswith("paywall: isAccessibleForFree=false")
    assert PARAGRAPHS[0] in found.text


def test_premium_items_listed_in_json_ld_are_not_the_page() -> None:
    items = ",".join(
        f'{{"@type":"ListItem","position":{i},"item":{{"@type":"NewsArticle",'
        f'"isAccessibleForFree":false,"url":"/s/{i}"}}}}'
        for i in range(5)
    )
    head = LD.format(f'{{"@type":"ItemList","itemListElement":[{items}]}}')
    html = page("section_index.html").replace(b"</head>", head.encode() + b"</head>")
    found = extract(html, "https://www.dailycourier.example/world/migration/")
    assert found.status is TextStatus.NOT_ARTICLE


def test_paywall_marker_nested_in_main_entity_of_graph() -> None:
    ld = (
        '{"@graph":[{"@type":"WebPage","mainEntity":{"@type":"NewsArticle",'
        '"hasPart":{"@type":"WebPageElement","isAccessibleForFree":false}}}]}'
    )
    found = extract(article_html(head=LD.format(ld), paragraphs=2))
    assert found.status is TextStatus.PAYWALL


def test_paywall_container_with_short_text() -> None:
    wall = '<div class="article-paywall"><p>Subscribe to read the full story.</p></div>'
    found = extract(article_html(body_extra=wall, paragraphs=2))
    assert found.status is TextStatus.PAYWALL
    assert 'class="article-paywall"' in found.reason
    assert "Subscribe to read" not in found.text


def test_paywall_marker_with_the_whole_text_is_full() -> None:
    head = LD.format('{"@type":"NewsArticle","isAccessibleForFree":false}')
    found = extract(article_html(head=head, paragraphs=12))
    assert found.status is TextStatus.FULL
    assert "despite paywall marker (isAccessibleForFree=false)" in found.reason
    assert found.text.count(PARAGRAPHS[3]) == 3


def test_premium_teasers_do_not_make_a_listing_a_paywall() -> None:
    html = page("section_index.html").replace(b'class="card"', b'class="card subscriber-only"')
    found = extract(html, "https://www.dailycourier.example/world/migration/")
    assert found.status is TextStatus.NOT_ARTICLE
    assert found.reason.startswith("listing page: ")


def test_premium_badge_in_related_links_is_not_a_paywall() -> None:
    related = (
        '<ul class="related"><li><a href="/x">Border talks stall'
        ' <span class="premium-content">Subscribers</span></a></li></ul>'
    )
    assert extract(article_html(body_extra=related, paragraphs=2)).status is TextStatus.FULL


def test_free_article_is_not_paywalled() -> None:
    head = LD.format('{"@type":"NewsArticle","isAccessibleForFree":true}')
    assert extract(article_html(head=head, paragraphs=2)).status is TextStatus.FULL


# --- captions, credits, dates, language ----------------------------------------------------


@pytest.mark.parametrize(
    ("figcaption", "caption", "credit"),
    [
        (
            "Rescued people wait on the quay. Photo: Jane Doe/Reuters",
            "Rescued people wait on the quay.",
            "Jane Doe/Reuters",
        ),
        ("Rescued people wait on the quay (AFP)", "Rescued people wait on the quay", "AFP"),
        (
            "Rescued people wait on the quay. © John Smith",
            "Rescued people wait on the quay.",
            "John Smith",
        ),
        (
            "Rescued people wait on the quay. REUTERS/Mohamed Azakir",
            "Rescued people wait on the quay.",
            "REUTERS/Mohamed Azakir",
        ),
        (
            "Rescued people wait on the quay."
            ' <span class="image-credit">Photograph: Ana Ruiz</span>',
            "Rescued people wait on the quay.",
            "Ana Ruiz",
        ),
        (
            "Rescued people wait on the quay (file picture)",
            "Rescued people wait on the quay (file picture)",
            None,
        ),
        (
            "Rescued people wait on the quay in Image, a harbour town",
            "Rescued people wait on the quay in Image, a harbour town",
            None,
        ),
    ],
)
def test_caption_and_credit(figcaption: str, caption: str, credit: str | None) -> None:
    figure = (
        f'<figure><img src="/img/quay.jpg" alt=""><figcaption>{figcaption}</figcaption></figure>'
    )
    found = extract(article_html(figure=figure))
    assert (found.image_caption, found.image_credit) == (caption, credit)


def test_caption_belongs_to_the_og_image_figure() -> None:
    head = '<meta property="og:image" content="https://cdn.example.com/lead-1600x900.jpg">'
    figures = (
        '<figure><img src="/img/map.png"><figcaption>Map of the route</figcaption></figure>'
        '<figure><img src="https://cdn.example.com/lead-800x450.jpg">'
        '<figcaption>The lead photo <span class="credit">Photo: Ali Musa</span></figcaption>'
        "</figure>"
    )
    found = extract(article_html(head=head, figure=figures))
    assert found.image_url == "https://cdn.example.com/lead-1600x900.jpg"
    assert (found.image_caption, found.image_credit) == ("The lead photo", "Ali Musa")


def test_caption_falls_back_to_og_image_alt() -> None:
    head = (
        '<meta property="og:image" content="/img/lead.jpg">'
        '<meta property="og:image:alt" content="A boat off the coast">'
    )
    found = extract(article_html(head=head))
    assert found.image_url == "https://www.dailycourier.example/img/lead.jpg"
    assert (found.image_caption, found.image_credit) == ("A boat off the coast", None)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("2025-06-12T07:45:00+02:00", datetime(2025, 6, 12, 5, 45, tzinfo=UTC)),
        ("2025-06-12T07:45:00Z", datetime(2025, 6, 12, 7, 45, tzinfo=UTC)),
        ("2030-01-01T00:00:00Z", None),  # in the future: rejected
        ("2025-11-26T12:00:00Z", None),  # more than a day ahead of NOW
        ("2025-11-25T18:00:00Z", datetime(2025, 11, 25, 18, 0, tzinfo=UTC)),  # clock skew
        ("not a date", None),
    ],
)
def test_published_is_aware_utc_and_never_future(declared: str, expected: datetime | None) -> None:
    head = f'<meta property="article:published_time" content="{declared}">'
    found = extract(article_html(head=head), "https://www.harbour.example/news/rescue")
    assert found.published == expected
    assert found.published is None or found.published.tzinfo is UTC


def test_language_from_og_locale_and_none_when_undeclared() -> None:
    html = article_html().replace('<html lang="en">', "<html>")
    assert extract(html).language is None
    localized = html.replace("<head>", '<head><meta property="og:locale" content="pt_BR">')
    assert extract(localized).language == "pt"


def test_byline_without_author_meta_is_still_read() -> None:
    byline = '<p class="byline">By Amina Diallo</p>'
    html = article_html(figure=byline)
    assert extract(html).author == "Amina Diallo"
    assert extract(html.replace(byline, "<p>By the sea</p>")).author is None


@pytest.mark.parametrize(
    "wall",
    [
        '<div id="paywall"><p>Subscribe now.</p></div>',
        '<div class="tp-modal"><p>Subscribe now.</p></div>',
        '<section class="content-locked"><p>Subscribe now.</p></section>',
        '<div class="Piano-Inline"><p>Subscribe now.</p></div>',
    ],
)
def test_paywall_element_by_class_or_id(wall: str) -> None:
    found = extract(article_html(body_extra=wall, paragraphs=2))
    assert found.status is TextStatus.PAYWALL
    assert found.reason.startswith("paywall: paywall element")


def test_declared_time_beats_other_dates_on_the_page() -> None:
    head = (
        '<meta name="date" content="2025-06-01">'
        '<meta property="article:published_time" content="2025-06-12T07:45:00+02:00">'
    )
    found = extract(article_html(head=head), "https://www.harbour.example/news/rescue")
    assert found.published == datetime(2025, 6, 12, 5, 45, tzinfo=UTC)


def test_date_found_in_the_page_without_a_declared_time() -> None:
    head = '<meta name="date" content="2025-06-03T10:30:00Z">'
    found = extract(article_html(head=head), "https://www.harbour.example/news/rescue")
    assert found.published == datetime(2025, 6, 3, 10, 30, tzinfo=UTC)


def test_trafilatura_warnings_do_not_reach_users(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):  # the root logger lets everything through
        assert extract(page("empty_body.html")).status is TextStatus.NOT_ARTICLE
        assert extract(page("home.html")).status is TextStatus.NOT_ARTICLE
    noisy = [r for r in caplog.records if r.name.startswith("trafilatura")]
    assert all(r.levelno >= logging.ERROR for r in noisy), [r.getMessage() for r in noisy]


# --- hostile input ------------------------------------------------------------------------


def test_binary_garbage_is_an_error() -> None:
    garbage = random.Random(5).randbytes(200_000)
    found = extract(garbage)
    assert found.status is TextStatus.ERROR
    assert found.reason == "binary content, not an HTML page"


@pytest.mark.parametrize("html", [b"", b"   \n", ""])
def test_empty_input_is_not_an_article(html: bytes | str) -> None:
    assert extract(html).status is TextStatus.NOT_ARTICLE


def test_no_body_and_no_html_element() -> None:
    assert extract(b"<html><head><title>x</title></head></html>").status is TextStatus.NOT_ARTICLE
    fragment = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    found = extract(fragment.encode())
    assert found.status is TextStatus.FULL
    assert PARAGRAPHS[2] in found.text


def test_control_characters_in_str_input() -> None:
    html = article_html().replace("Border officials", "Border\x00 officials\x0b")
    found = extract(html)
    assert found.status is TextStatus.FULL
    assert "Border officials said" in found.text


def test_lone_surrogate_in_str_input() -> None:
    html = article_html().replace("Border officials", "Border\udc80 officials")
    found = extract(html)
    assert found.status is TextStatus.FULL
    assert "Border officials said" in found.text
    assert PARAGRAPHS[3] in found.text  # read past it


def test_deeply_nested_markup_does_not_raise() -> None:
    html = "<html><body>" + "<div>" * 50_000 + "<p>deep</p>" + "</div>" * 50_000 + "</body></html>"
    found = extract(html.encode())
    assert found.status in (TextStatus.NOT_ARTICLE, TextStatus.ERROR)


def test_script_heavy_page() -> None:
    state = "<script>window.__STATE__=" + '{"k":"v"},' * 150_000 + "{};</script>"
    html = article_html(head=state + state, paragraphs=3)
    found = extract(html.encode())
    assert found.status is TextStatus.FULL
    assert "__STATE__" not in found.text


def test_broken_json_ld_is_ignored() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "isAccessib' + "[" * 5000
    head += "</script>"
    assert extract(article_html(head=head)).status is TextStatus.FULL


@pytest.mark.slow
def test_five_megabyte_page() -> None:
    links = "".join(
        f'<li><a href="/s/{i}">Story number {i} of the day</a></li>' for i in range(400)
    )
    footer = f'<div class="footer-links"><ul>{links}</ul></div>'
    html = article_html(paragraphs=40).replace("</body>", footer * 230 + "</body>")
    assert len(html) > 5_000_000
    found = extract(html.encode())
    assert found.status is TextStatus.FULL
    assert PARAGRAPHS[1] in found.text
    assert "Story number" not in found.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=3000)))
def test_never_raises(html: bytes | str) -> None:
    found = extract(html)
    assert not found.reason.startswith("extraction failed")  # no bug hidden as an ERROR
    assert found.text == "" or found.status in (TextStatus.FULL, TextStatus.PAYWALL)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<div>",
                "</div>",
                "<p>",
                "</p>",
                "<a href='/x'>",
                "</a>",
                "<script>",
                "</script>",
                "<figure>",
                "<figcaption>",
                "<img src",
                "word ",
                "Photo: ",
                "(AFP)",
                "\x00",
                "é",
                "<body>",
                "<html>",
            ]
        ),
        max_size=400,
    )
)
def test_never_raises_on_tag_soup(parts: list[str]) -> None:
    found = extract("".join(parts))
    assert not found.reason.startswith("extraction failed")


# --- HTTP statuses and feed summaries ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, TextStatus.BLOCKED),
        (403, TextStatus.BLOCKED),
        (429, TextStatus.BLOCKED),
        (451, TextStatus.BLOCKED),
        (402, TextStatus.PAYWALL),
        (404, TextStatus.ERROR),
        (410, TextStatus.ERROR),
        (500, TextStatus.ERROR),
        (503, TextStatus.ERROR),
    ],
)
def test_status_for_http(status: int, expected: TextStatus) -> None:
    assert status_for_http(status) is expected
    assert http_failure(status) == Extraction(expected, f"{status} from server")


@pytest.mark.parametrize("status", [200, 304])
def test_status_for_http_rejects_success(status: int) -> None:
    with pytest.raises(ValueError, match="not a failure"):
        status_for_http(status)


LONG = " ".join(["Officials said the rescued migrants were taken to a reception centre."] * 10)


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "Short summary of a story about migrants.",
        LONG + " They said…",
        LONG + " They said...",
        LONG + " […]",
        LONG + " [...]",
        LONG + " (...)",
        LONG + " Read more",
        LONG + " Read more »",
        LONG + " Continue reading →",
        LONG + " Continue reading Rescue at sea",
        LONG + " Lire la suite",
        LONG + " Leer más",
        LONG + " Seguir leyendo",
        LONG + " The post Rescue at sea appeared first on Harbour Times.",
        LONG + " L’article Sauvetage en mer est apparu en premier sur Le Port.",
    ],
)
def test_needs_full_text(summary: str) -> None:
    assert needs_full_text(summary)


@pytest.mark.parametrize(
    "summary",
    [LONG, LONG + " Read more about the rescue operations in our special report on the coast."],
)
def test_complete_long_summary_does_not_need_full_text(summary: str) -> None:
    assert not needs_full_text(summary)


def test_needs_full_text_min_words() -> None:
    text = "one two three four five six seven eight nine ten."
    assert needs_full_text(text, min_words=11)
    assert not needs_full_text(text, min_words=10)
