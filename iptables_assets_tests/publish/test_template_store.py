"""Films' static parts kept on disk: frames from a stored template are the drawn template's, byte
for byte; a damaged, unreadable or unwritable store costs a drawing, never a frame or a run."""

import logging
import os
from datetime import date

import numpy as np
import pytest

from iptables_assets import storage
from iptables_assets.publish import catalog, labels, recolour, static_store, template_store
from iptables_assets.publish.catalog import FILMS, TEMPLATE_DAY, Look
from iptables_assets.publish.figures import Site

LOOK = Look(site=Site(name="example.org", map_footer="Credits."), truncate_at=1000)
TOP = (22, 23, 80, 443, 3389, 8080, *range(9000, 9250))
DAYS = (date(2026, 1, 2), date(1999, 12, 31), date(2087, 7, 19))
COUNTS = {"drops_map": {"CN": 999, "US": 3, "DE": 40000, "BR": 1, "??": 5},
          "well_known_ports": {22: 800, 23: 9, 80: 1, 1023: 70000, 0: 2},
          "top_ports": {22: 800, 3389: 9, 9001: 1, 9249: 7000}}


def _drawn(name: str) -> recolour.Template:
    film = FILMS[name]
    return recolour.template(film.draw({}, TEMPLATE_DAY, LOOK, TOP), film.recolour)


def _kept(folder, name: str, draw=None) -> recolour.Template:
    return template_store.kept(folder, name, (name, LOOK, TOP), draw or (lambda: _drawn(name)))


def _never():
    raise AssertionError("drawn although a usable template was stored")


def _frames(template: recolour.Template, name: str) -> list[bytes]:
    return [template.frame(counts, day.isoformat(), {}) for counts in ({}, COUNTS[name]) for day in DAYS]


@pytest.mark.parametrize("name", list(FILMS))
def test_a_stored_template_makes_the_drawn_templates_frames(tmp_path, name):
    drawn = _kept(tmp_path, name)
    stored = list(tmp_path.glob(f"{name}-*.npz"))
    assert len(stored) == 1 and storage.sidecar(stored[0]).exists()
    loaded = _kept(tmp_path, name, _never)
    assert loaded is not drawn
    assert _frames(loaded, name) == _frames(drawn, name)
    assert template_store.to_bytes(loaded) == stored[0].read_bytes()  # stable: a second run stores the same bytes


def test_a_loaded_stamp_refuses_what_is_not_a_date(tmp_path):
    _kept(tmp_path, "top_ports")
    loaded = _kept(tmp_path, "top_ports", _never)
    with pytest.raises(ValueError, match="dates"):
        loaded.frame({}, "tomorrow", {})


@pytest.mark.parametrize("fault", ["flip", "truncate", "sidecar", "not-npz", "chmod"])
def test_a_damaged_template_is_drawn_again_and_replaced(tmp_path, caplog, fault):
    if fault == "chmod" and os.geteuid() == 0:
        pytest.skip("root reads a chmod 000 file")
    reference = _frames(_kept(tmp_path, "top_ports"), "top_ports")
    (path,) = tmp_path.glob("top_ports-*.npz")
    data = path.read_bytes()
    if fault == "flip":
        path.write_bytes(data[:5000] + bytes([data[5000] ^ 0x10]) + data[5001:])
    elif fault == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif fault == "sidecar":
        storage.sidecar(path).write_text("not a digest\n")
    elif fault == "not-npz":
        storage.write_verified_bytes(path, b"PK" + b"\0" * 100)
    else:
        path.chmod(0)
    drawn = []
    with caplog.at_level(logging.WARNING):
        again = _kept(tmp_path, "top_ports", lambda: drawn.append(1) or _drawn("top_ports"))
    assert drawn == [1]
    assert f"stored static part {path} unusable" in caplog.text
    assert _frames(again, "top_ports") == reference
    assert _frames(_kept(tmp_path, "top_ports", _never), "top_ports") == reference  # replaced


def test_a_template_pruned_by_another_run_while_read_is_drawn_again_quietly(tmp_path, caplog, monkeypatch):
    """A figure cache shared by output folders: another run prunes the file between this run's
    reading it and its checksum (the data first, then the sidecar): drawn again, no warning."""
    reference = _frames(_kept(tmp_path, "top_ports"), "top_ports")
    (path,) = tmp_path.glob("top_ports-*.npz")

    def pruned_meanwhile(where, **_kwargs):
        data = where.read_bytes()
        where.unlink()
        storage.sidecar(where).unlink()
        raise storage.DamagedData(where, f"no checksum file (read {len(data)} bytes)")

    monkeypatch.setattr(static_store.storage, "verified_bytes", pruned_meanwhile)
    drawn = []
    with caplog.at_level(logging.WARNING):
        again = _kept(tmp_path, "top_ports", lambda: drawn.append(1) or _drawn("top_ports"))
    assert drawn == [1] and caplog.text == ""
    assert _frames(again, "top_ports") == reference
    assert path.exists() and storage.sidecar(path).exists()  # stored again


@pytest.mark.parametrize("shared", [False, True])
def test_the_output_folder_keeps_static_parts_in_the_figure_cache_when_set(tmp_path, shared):
    from iptables_assets.defs.resources import OutputFolder

    cache = str(tmp_path / "cache") if shared else None
    OutputFolder(base_path=str(tmp_path / "out"), figure_cache=cache).setup_for_execution(None)
    assert str(static_store.folder()) == (cache or str(tmp_path / "out" / "_cache" / "static"))


def test_a_store_that_cannot_be_written_costs_a_drawing_not_the_run(tmp_path, caplog):
    folder = tmp_path / "store"
    folder.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        template = _kept(folder, "drops_map")
    assert _frames(template, "drops_map") == _frames(_drawn("drops_map"), "drops_map")
    assert "static part not stored" in caplog.text


def test_new_drawing_code_or_another_look_is_a_new_template(tmp_path, monkeypatch):
    _kept(tmp_path, "top_ports")
    other = Look(site=Site(name="other.example"), truncate_at=1000)
    drawn = []
    template_store.kept(tmp_path, "top_ports", ("top_ports", other, TOP),
                        lambda: drawn.append("look") or _drawn("top_ports"))
    monkeypatch.setattr(static_store, "drawing_code", lambda: "edited")
    _kept(tmp_path, "top_ports", lambda: drawn.append("code") or _drawn("top_ports"))
    assert drawn == ["look", "code"]


def test_the_store_keeps_a_few_templates_per_film(tmp_path):
    for ports in range(static_store.KEEP + 3):
        template_store.kept(tmp_path, "top_ports", ("top_ports", LOOK, ports), lambda: _drawn("top_ports"))
    assert len(list(tmp_path.glob("top_ports-*.npz"))) == static_store.KEEP
    assert len(list(tmp_path.glob("*.sha256"))) == static_store.KEEP


def test_frames_of_the_catalog_use_the_store(stored_in):
    film = FILMS["well_known_ports"]
    first = catalog.render_frame(film, COUNTS["well_known_ports"], DAYS[0], LOOK)
    assert len(list(stored_in.glob("well_known_ports-*.npz"))) == 1
    catalog._template.cache_clear()  # a new process
    assert catalog.render_frame(film, COUNTS["well_known_ports"], DAYS[0], LOOK) == first
    static_store.use(None)
    in_memory = catalog.render_frame(film, COUNTS["well_known_ports"], DAYS[0], LOOK)
    assert np.array_equal(np.frombuffer(first, np.uint8), np.frombuffer(in_memory, np.uint8))


def test_every_drawing_module_is_in_the_digest():
    """What the frame figures import from this package is digested (a new drawing module must be listed)."""
    import ast
    from pathlib import Path

    folder = Path(static_store.__file__).parent
    listed = set(static_store.DRAWING_MODULES)
    for name in listed:
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and node.module == "iptables_assets.publish" for alias in node.names}
        imported |= {node.module.rsplit(".", 1)[1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     and (node.module or "").startswith("iptables_assets.publish.")}
        assert imported <= listed, (name, imported - listed)


@pytest.fixture
def stored_in(tmp_path):
    """The process's static store pointed at a temporary folder for the test, then unset."""
    from iptables_assets.publish import plotting

    static_store.use(tmp_path)
    plotting._projected_countries.cache_clear()
    yield tmp_path
    static_store.use(None)
    plotting._projected_countries.cache_clear()


def _same_paths(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(p.vertices, q.vertices) and np.array_equal(p.codes, q.codes)
                                    for p, q in zip(a, b))


def test_label_glyphs_and_projected_countries_read_back_exactly(stored_in):
    from iptables_assets.publish import plotting

    texts = tuple(str(port) for port in range(1024))
    made = labels.label_paths(texts, 7.3)
    assert len(list(stored_in.glob("labels1024-*.npz"))) == 1
    assert _same_paths(labels.label_paths(texts, 7.3), made)
    _projection, projected = plotting._projected_countries("110m")
    plotting._projected_countries.cache_clear()
    _projection, again = plotting._projected_countries("110m")
    assert list(again) == list(projected) and _same_paths(list(again.values()), list(projected.values()))
    drawn = plotting.png_bytes(plotting.world_map({"FR": 3, "BR": 9}, title="t", legend="l"))
    static_store.use(None)
    plotting._projected_countries.cache_clear()
    assert plotting.png_bytes(plotting.world_map({"FR": 3, "BR": 9}, title="t", legend="l")) == drawn


def test_damaged_labels_are_made_again(stored_in, caplog):
    texts = ("22", "23", "445")
    made = labels.label_paths(texts, 9.0)
    (path,) = stored_in.glob("labels3-*.npz")
    path.write_bytes(path.read_bytes()[:-10])
    with caplog.at_level(logging.WARNING):
        assert _same_paths(labels.label_paths(texts, 9.0), made)
    assert "unusable" in caplog.text
