from pathlib import Path

from vse_foley.core.naming import MAX_SLUG, audio_stem, provider_short, slugify, unique_stem

WINDOWS_BAD = set('<>:"/\\|?*')


def test_slug_is_short_safe_ascii():
    slug = slugify("Schritte auf Kies — Ça va? <loud> footsteps/gravel: night rain on a tin roof")
    assert slug.isascii() and len(slug) <= MAX_SLUG
    assert not (set(slug) & WINDOWS_BAD) and " " not in slug
    assert slug.startswith("schritte-auf-kies-ca-va-loud")
    assert not slug.endswith("-")


def test_slug_fallbacks():
    assert slugify("") == "untitled"
    assert slugify("脚步声") == "untitled"  # nothing ASCII survives
    assert slugify("CON") == "con-x"  # Windows device names are not file names
    assert slugify("a" * 100) == "a" * MAX_SLUG


def test_stem_format():
    stem = audio_stem("wavespeed.think-sound", "Footsteps on gravel!", "a1b2c3d4e5f6")
    assert stem == "wavespeed-think-sound_footsteps-on-gravel_a1b2c3d4e5f6"
    assert provider_short("vidu.timing2audio") == "vidu-timing2audio"


def test_unique_stem_checks_every_extension(tmp_path: Path):
    assert unique_stem(tmp_path, "a_b_c") == tmp_path / "a_b_c"
    (tmp_path / "a_b_c.mp3").write_bytes(b"x")
    assert unique_stem(tmp_path, "a_b_c") == tmp_path / "a_b_c-2"
    (tmp_path / "a_b_c-2.wav").write_bytes(b"x")
    assert unique_stem(tmp_path, "a_b_c") == tmp_path / "a_b_c-3"
    (tmp_path / "x[1].wav").write_bytes(b"x")  # glob characters in a stem are literal
    assert unique_stem(tmp_path, "x[1]") == tmp_path / "x[1]-2"
