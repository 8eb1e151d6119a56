"""Hub publishing, offline: model cards from model_cards/ for real tiny runs, release folders, publish, scripts."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import shutil
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from conftest import run_without_tinyvision, write_image_dataset
from huggingface_hub import DatasetCard, ModelCard
from transformers import AutoModel, AutoModelForImageClassification

from tinyvision import hub
from tinyvision.hub import formatting
from tinyvision.training import TrainingArguments

ROOT = Path(__file__).resolve().parents[1]
SECRET = "hf_NotARealTokenButSecret123"
SECTIONS = ("## Intended use and limitations", "## How to use", "## Architecture", "## Training data",
            "## Training procedure", "## Evaluation results", "## Compute", "## Figures", "## Citation", "## Licence")


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeApi:
    """Records what publish asks of huggingface_hub.HfApi, and what the folder held at upload time."""

    def __init__(self, token=None):
        self.calls = []
        self.uploaded = None

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))
        folder = Path(kwargs["folder_path"])
        self.uploaded = {name: (folder / name).read_bytes() for name in hub.list_folder(folder)}
        return type("CommitInfo", (), {"commit_url": "https://huggingface.co/fake/commit/1", "pr_url": None})()

    def named(self, name):
        return [call for call in self.calls if call[0] == name]


def _tiny_args(output_dir, **overrides):
    values = dict(output_dir=str(output_dir), num_train_epochs=2, disable_tqdm=True, per_device_train_batch_size=16,
                  seed=3)
    values.update(overrides)
    return TrainingArguments(**values)


# ------------------------------------------------------------------------------ real tiny runs
@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    from tinyvision.tasks.classification import ClassifierArguments, train_classifier

    data = write_image_dataset(_named_dir(tmp_path_factory, "fashion_mnist"))  # the name maps to the Hub id
    out = tmp_path_factory.mktemp("runs") / "mlp"
    train_classifier(ClassifierArguments(dataset_name=str(data), model="mlp", config_overrides='{"hidden_sizes": [8]}'),
                     _tiny_args(out))
    return out


def _named_dir(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("datasets") / name
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def clock_run(tmp_path_factory):
    from tinyvision.tasks.clock import ClockArguments, train_clock

    small = dict(conv_filters=[4, 8], conv_kernel_sizes=[3, 3], conv_strides=[2, 1], pool_after=[True, True],
                 fc_hidden_sizes=[16])
    out = tmp_path_factory.mktemp("runs") / "clock"
    train_clock(ClockArguments(model="reader", num_train_examples=48, num_eval_examples=16, num_test_examples=16, image_size=32,
                               num_proc=1, head="hybrid", config_overrides=json.dumps(small)),
                _tiny_args(out, num_train_epochs=1))
    return out


# The two-stage photo reader, as small as it goes: 64x64 scenes, a 32x32 detector, a 32x32 polar reader.
PHOTO_OVERRIDES = {"detector_size": 32, "detector_channels": [4, 4, 8, 8], "detector_head_channels": 8,
                   "reader": {"image_size": 32, "num_channels": 1, "head": "angles", "angle_channels": True,
                              "polar_rows": 8, "polar_cols": 32, "conv_filters": [4, 8], "conv_kernel_sizes": [3, 3],
                              "conv_strides": [1, 1], "pool_after": [False, False], "fc_hidden_sizes": [8]}}


@pytest.fixture(scope="module")
def clock_photo_run(tmp_path_factory):
    from tinyvision.tasks.clock import ClockArguments, train_clock

    out = tmp_path_factory.mktemp("runs") / "clock-photo"
    # A quarter of the scenes without a clock, so that every split has some (false-alarm rate, calibration).
    train_clock(ClockArguments(model="photo", image_size=64, num_train_examples=48, num_eval_examples=16,
                               num_test_examples=16, backgrounds="none", empty_fraction=0.25, num_proc=1,
                               num_clock_free_examples=4, config_overrides=json.dumps(PHOTO_OVERRIDES)),
                _tiny_args(out, num_train_epochs=1))
    return out


def _generative_run(tmp_path_factory, kind):
    generative = pytest.importorskip("tinyvision.tasks.generative")
    from tinyvision.data import load_cats
    from tinyvision.fid import evaluate_generator

    data = write_image_dataset(_named_dir(tmp_path_factory, f"cats_64x64_{kind}"), num_train=40, num_test=4, size=16,
                               channels=3)
    if kind == "gan":
        overrides = dict(latent_dim=4, generator_dense_size=32, generator_filters=[4, 4], discriminator_filters=[4, 4])
        args, train = generative.GANArguments, generative.train_gan
    else:
        overrides = dict(latent_dim=4, decoder_dense_size=32, decoder_filters=[4, 4], encoder_filters=[4, 4])
        args, train = generative.VAEArguments, generative.train_vae
    out = tmp_path_factory.mktemp("runs") / kind
    train(args(dataset_name=str(data), image_size=16, config_overrides=json.dumps(overrides), num_sample_images=16,
               validation_split=0.25), _tiny_args(out))
    # What scripts/evaluate_generator.py writes, with a tiny random extractor instead of Inception-v3.
    torch.manual_seed(0)
    extractor = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(),
                                    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    real = load_cats(str(data), dedupe=True, image_size=16, cache_dir=None).columns["pixel_values"]
    results = evaluate_generator(AutoModel.from_pretrained(out), real, num_samples=16, num_real=16,
                                 feature_extractor=extractor, cache_dir=None, kid_subsets=5, kid_subset_size=8)
    results["model_dir"] = str(out)
    (out / "fid_kid.json").write_text(json.dumps(results, indent=2))
    return out


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return _generative_run(tmp_path_factory, "gan")


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    return _generative_run(tmp_path_factory, "vae")


FAMILY_RUNS = {"classifier": "classifier_run", "clock_reader": "clock_run", "clock_photo_reader": "clock_photo_run",
               "gan": "gan_run", "vae": "vae_run"}


def _expected_results(run_dir: Path) -> dict:
    """(split, metric type) → value, straight from the run's JSON files."""
    metrics = json.loads((run_dir / "all_results.json").read_text())
    expected = {}
    for prefix, split in hub.SPLITS:
        for key, value in metrics.items():
            if key.startswith(prefix + "_"):
                expected[(split, key[len(prefix) + 1:])] = value
    if (run_dir / "fid_kid.json").is_file():
        for key, value in json.loads((run_dir / "fid_kid.json").read_text()).items():
            expected[("train", key)] = value
    return expected


# ------------------------------------------------------------------------------------ cards
@pytest.mark.parametrize("family", list(FAMILY_RUNS))
def test_each_template_renders_for_a_real_run_and_reads_back(family, request, tmp_path):
    run_dir = request.getfixturevalue(FAMILY_RUNS[family])
    card_text = hub.render_model_card(run_dir, repo_id=f"alice/tiny-{family}")
    assert hub.detect_family(json.loads((run_dir / "config.json").read_text())).key == family
    (tmp_path / "README.md").write_text(card_text)
    card = ModelCard.load(tmp_path / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "transformers"
    assert data["pipeline_tag"] == hub.FAMILIES[family].pipeline_tag
    assert data["license"] == "mit" and "tinyvision" in data["tags"]

    # model-index: every value equals the run's JSON, and every headline metric of the run is there.
    expected = _expected_results(run_dir)
    seen = set()
    for result in card.data.eval_results:
        key = (result.dataset_split, result.metric_type)
        assert result.metric_value == expected[key], key  # exact: the card copies, never rounds
        assert result.dataset_name and result.dataset_type and result.task_type
        seen.add(key)
    names = [pattern for pattern, _ in hub.FAMILIES[family].metrics]
    wanted = {(split, name) for split in ("test", "validation", "train") for name in names}
    assert seen == {key for key in expected if key in wanted}
    assert set(data["metrics"]) == {kind for _, kind in seen}

    for section in SECTIONS:
        assert section in card.text, section
    assert "trust_remote_code=True" in card.text and "pip install tinyvision" in card.text
    assert f'"alice/tiny-{family}"' in card.text
    assert "![" in card.text and "(figures/training_curves.png)" in card.text
    assert "Géron" in card.text and "{{" not in card.text and "{%" not in card.text
    seed = json.loads((run_dir / "run_config.json").read_text())["training_args"]["seed"]
    assert f"seed {seed}" in card.text or f"seed (weights, shuffling, dropout) {seed}" in card.text
    assert str(run_dir) not in card.text  # no local absolute paths on a public card


def test_classifier_card_names_the_dataset_and_its_citation(classifier_run, tmp_path):
    text = hub.render_model_card(classifier_run, repo_id="alice/mlp")
    (tmp_path / "README.md").write_text(text)
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.datasets == ["zalando-datasets/fashion_mnist"]
    assert card.data.eval_results[0].dataset_type == "zalando-datasets/fashion_mnist"
    assert "Xiao" in text and "arXiv:1708.07747" in text and "Zalando" in text
    assert "40 of the 10,000 official test images" in text  # the tiny test split is flagged, not hidden
    assert "`left`, `middle`, `right`, `top`" in text


def test_clock_card_records_the_generator_and_the_limits_of_rendered_clocks(clock_run):
    from tinyvision.data.clocks import GENERATOR_VERSION

    text = hub.render_model_card(clock_run, repo_id="alice/clock")
    assert f"generator version {GENERATOR_VERSION}" in text
    assert "Photographs of real clocks" in text and "common-sense error" in text
    assert 'pipeline("clock-reading"' in text and "| test | 16 | 2000000 |" in text


def test_photo_reader_card_states_what_the_run_measured(clock_photo_run, tmp_path):
    from tinyvision.data.clock_scenes import SCENE_GENERATOR_VERSION

    text = hub.render_model_card(clock_photo_run, repo_id="alice/photo")
    metrics = json.loads((clock_photo_run / "all_results.json").read_text())
    run = json.loads((clock_photo_run / "run_config.json").read_text())
    config = json.loads((clock_photo_run / "config.json").read_text())
    (tmp_path / "README.md").write_text(text)
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.pipeline_tag == "image-classification" and "clock-detection" in card.data.tags
    results = {(r.dataset_split, r.metric_type): r for r in card.data.eval_results}
    for name in ("cse_mean", "cse_median", "cse_p90", "within_1_min", "within_5_min", "hour_accuracy",
                 "found_rate", "false_alarm_rate", "centre_error_radii", "ellipse_error"):
        for prefix, split in hub.SPLITS:
            result = results[(split, name)]
            assert result.metric_value == metrics[f"{prefix}_{name}"]  # exact, in model-index
            assert result.task_type == "clock-reading"
            assert result.dataset_args["seed"] == run["data_seeds"][split]
            assert result.dataset_args["scene_generator_version"] == run["scene_generator_version"]
            # and in the table, as the card rounds it
            assert f"| {split} | {metrics[f'{prefix}_num_examples']} | {result.metric_name.rsplit(' (', 1)[0]} | " \
                   f"{formatting._num(metrics[f'{prefix}_{name}'])} |" in text
    assert run["scene_generator_version"] == SCENE_GENERATOR_VERSION
    assert f"scene generator version {SCENE_GENERATOR_VERSION}" in text and "not** photographs" in text
    assert "Real photographs differ" in text and "12-hour dial" in text and "One clock per photo" in text
    # the saved threshold, said to be calibrated on the validation scenes without a clock
    assert config["detection_threshold"] == pytest.approx(metrics["eval_calibrated_threshold"], abs=1e-4)
    assert f"here **{config['detection_threshold']}** (`config.json`), calibrated" in text
    # validation's found / false-alarm rates were measured at the threshold before that calibration
    assert f"the validation rates at {run['model_config']['detection_threshold']}, " in text
    assert f"{formatting._num(100 * metrics['test_found_rate'], 3)}% of the scenes that hold a clock" in text
    sizes = {"train": run["clock_args"]["num_train_examples"], "validation": metrics["eval_num_examples"],
             "test": metrics["test_num_examples"]}
    for split, seed in run["data_seeds"].items():
        assert f"| {split} | {sizes[split]} | {seed} |" in text
    assert "letterbox (scale the longer side to 64" in text and "| polar_cols | 32 |" in text
    # 4 scenes drawn without a clock end each of validation and test; about 4 + 0.25 * 16 of the 20 test scenes
    assert "each end with 4 further scenes without a clock" in text and "rests on few scenes" not in text
    assert "4 of the 20 test scenes are drawn without one, and each of the others is left empty with " \
           "probability 0.25: about 8 hold no clock" in text
    assert "procedural textures only" in text and "Objects as Points" in text
    assert "'confidence'" in text and "'box'" in text and "trust_remote_code=True" in text
    assert "--model" not in text.split("```bash")[1].split("```")[0]  # photo is train_clock.py's default


def test_photo_reader_card_tells_how_to_read_turned_clocks_as_the_reader_was_trained(clock_photo_run, tmp_path):
    """A reader trained with ``up_dropout`` reads turned clocks with ``any_turn``; any other with the quarter turns
    (an older config without the field included)."""
    text = hub.render_model_card(clock_photo_run, repo_id="alice/photo")
    assert '"test_time_turns": [0, 90, 180, 270]' in text and '"any_turn": True' not in text
    run = tmp_path / "run"
    shutil.copytree(clock_photo_run, run)
    config = json.loads((run / "config.json").read_text())
    config["reader"]["up_dropout"] = 0.25
    (run / "config.json").write_text(json.dumps(config))
    text = hub.render_model_card(run, repo_id="alice/photo")
    assert 'model_kwargs={"any_turn": True}' in text and "trained with 25 % of its images not told" in text
    config["reader"].pop("up_dropout")
    (run / "config.json").write_text(json.dumps(config))
    assert '"any_turn": True' not in hub.render_model_card(run, repo_id="alice/photo")


def _cards_with_reader_field_off(run_dir, tmp_path, field: str, off: float = 0.0):
    """The model cards of a copy of ``run_dir`` whose reader ``field`` is ``off`` (by default 0), then absent (a
    config saved before it)."""
    run = tmp_path / f"run-{field}"
    shutil.copytree(run_dir, run)
    config = json.loads((run / "config.json").read_text())
    for value in (off, None):
        if value is None:
            del config["reader"][field]
        else:
            config["reader"][field] = value
        (run / "config.json").write_text(json.dumps(config))
        yield hub.render_model_card(run, repo_id="alice/photo")


def test_photo_reader_card_explains_the_mark_votes_and_their_dial_loss_as_saved(clock_photo_run, tmp_path):
    """The default reader votes with its columns and was trained with the dial loss; the card says both with the
    saved values, and leaves the dial loss out for a reader trained without it (an older config included)."""
    text = hub.render_model_card(clock_photo_run, repo_id="alice/photo")
    reader = json.loads((clock_photo_run / "config.json").read_text())["reader"]
    assert reader["mark_votes"] is True and reader["mark_vote_dial_loss_weight"] == 0.5
    assert f"those votes count with weight {reader['mark_vote_weight']}" in text
    assert "taught the summed votes to pick the true 12 (`reader.mark_vote_dial_loss_weight` 0.5)" in text
    for text in _cards_with_reader_field_off(clock_photo_run, tmp_path, "mark_vote_dial_loss_weight"):
        assert "those votes count with weight" in text and "taught the summed votes" not in text


def test_photo_reader_card_explains_the_hour_lattice_as_saved(clock_photo_run, tmp_path):
    """The default reader reads the hour at the places its hand can point given the minute; the card says so with
    the saved window, and says nothing of it for a reader saved without one (0, or an older config)."""
    text = hub.render_model_card(clock_photo_run, repo_id="alice/photo")
    assert json.loads((clock_photo_run / "config.json").read_text())["reader"]["hour_lattice_window"] == 6.0
    assert "Which hour:" in text and "hour hand's column votes within 6.0° (`reader.hour_lattice_window`" in text
    assert "the votes count 0.3 times (`reader.hour_overlap_discount`" in text
    for text in _cards_with_reader_field_off(clock_photo_run, tmp_path, "hour_lattice_window"):
        assert "Which hour:" not in text
    for text in _cards_with_reader_field_off(clock_photo_run, tmp_path, "hour_overlap_discount", off=1.0):
        assert "Which hour:" in text and "(`reader.hour_overlap_discount`" not in text


def test_photo_reader_card_says_how_the_dial_is_sampled_as_saved(clock_photo_run, tmp_path):
    """A reader that samples its polar grid straight from the photo (``polar_supersample``) says so with the saved
    grid; one that reads the crop (0, or a config saved before the field) does not."""
    run = tmp_path / "run-polar"
    shutil.copytree(clock_photo_run, run)
    config = json.loads((run / "config.json").read_text())
    reader = {**config["reader"]}
    for value, said in ((3, True), (0, False), (None, False)):
        if value is None:
            config.pop("polar_supersample", None)
        else:
            config["polar_supersample"] = value
        (run / "config.json").write_text(json.dumps(config))
        text = hub.render_model_card(run, repo_id="alice/photo")
        rows, cols = reader.get("polar_rows", 24), reader.get("polar_cols", 192)
        expected = f"on its polar grid ({rows} radii × {cols} directions, each cell the mean of 3 × 3 samples"
        assert (expected in text) is said and ("`polar_supersample` in `config.json`" in text) is said


def test_photo_reader_card_explains_the_hand_fit_as_saved(clock_photo_run, tmp_path):
    """The default reader checks its 12 against the hands; the card says so with the saved weight and width, and
    says nothing of it for a reader saved without it (0, or an older config)."""
    text = hub.render_model_card(clock_photo_run, repo_id="alice/photo")
    reader = json.loads((clock_photo_run / "config.json").read_text())["reader"]
    assert reader["hand_fit_weight"] == 2.0 and reader.get("hand_fit_sigma", 3.0) == 3.0
    assert "The hands check the 12:" in text and "(weight 2.0, Gaussian of 3.0°" in text
    for text in _cards_with_reader_field_off(clock_photo_run, tmp_path, "hand_fit_weight"):
        assert "The hands check the 12" not in text


def test_photo_reader_card_names_background_photos_and_hides_local_paths(clock_photo_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(clock_photo_run, run)
    run_config = json.loads((run / "run_config.json").read_text())
    run_config.pop("backgrounds", None)  # a run from before the structured field: only data_source names the photos
    run_config["data_source"] = ("generated clock scenes (data_seed=0, orientation=world, 120 background photos from "
                                 f"{tmp_path}/data/cifar10, ../shared/data/my_walls, 25% without a clock)")
    (run / "run_config.json").write_text(json.dumps(run_config))
    text = hub.render_model_card(run, repo_id="alice/photo")
    assert str(tmp_path) not in text and "path/to/cifar10" in text and "../shared/data/my_walls" in text
    assert "crops of 120 photos (CIFAR-10, ../shared/data/my_walls)" in text and "Krizhevsky" in text
    (tmp_path / "README.md").write_text(text)
    assert ModelCard.load(tmp_path / "README.md").data.datasets == ["uoft-cs/cifar10"]


def test_photo_reader_card_reads_the_recorded_backgrounds_first(clock_photo_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(clock_photo_run, run)
    run_config = json.loads((run / "run_config.json").read_text())
    # What runs record now: the structured field, as given; data_source need not list the photos.
    run_config["backgrounds"] = {"count": 120, "sources": [f"{tmp_path}/data/cifar10", "../shared/data/my_walls"]}
    run_config["data_source"] = "generated clock scenes (data_seed=0, orientation=world, 25% without a clock)"
    (run / "run_config.json").write_text(json.dumps(run_config))
    context = hub.card_context(run, repo_id="alice/photo")
    assert context["backgrounds"]["count"] == 120
    assert [source["given"] for source in context["backgrounds"]["sources"]] == ["path/to/cifar10",
                                                                                "../shared/data/my_walls"]
    text = hub.render_model_card(run, repo_id="alice/photo")
    assert str(tmp_path) not in text and "crops of 120 photos (CIFAR-10, ../shared/data/my_walls)" in text
    assert 'load_background_pool(["path/to/cifar10", "../shared/data/my_walls"])' in text and "Krizhevsky" in text
    (tmp_path / "README.md").write_text(text)
    assert ModelCard.load(tmp_path / "README.md").data.datasets == ["uoft-cs/cifar10"]

    # The recorded field wins over the data_source text: procedural backgrounds, whatever the text says.
    run_config["backgrounds"] = {"count": 0, "sources": []}
    run_config["data_source"] = "generated clock scenes (120 background photos from data/cifar10, 25% without a clock)"
    (run / "run_config.json").write_text(json.dumps(run_config))
    assert hub.card_context(run, repo_id="alice/photo")["backgrounds"] == {"count": 0, "sources": []}
    assert "procedural textures only" in hub.render_model_card(run, repo_id="alice/photo")


def test_yaml_values_round_trip_exactly():
    for value in (1e-05, 0.1 + 0.2, 1.5e20, -3e-300, 0.0, 7, True, None, "a: b # c", "naïve \"quoted\"", [1, 2.5]):
        assert yaml.safe_load(f"x: {formatting._yaml(value)}")["x"] == value
    assert math.isnan(yaml.safe_load(f"x: {formatting._yaml(float('nan'))}")["x"])


def test_templates_are_found_and_can_be_overridden(tmp_path, monkeypatch):
    folder = hub.find_templates_dir()
    for name in ("classifier", "clock_reader", "clock_photo_reader", "gan", "vae", "clock_dataset"):
        assert (folder / f"{name}.md.j2").is_file(), name
    shutil.copytree(folder, tmp_path / "cards")
    monkeypatch.setenv(hub.TEMPLATES_ENV, str(tmp_path / "cards"))
    assert hub.find_templates_dir() == tmp_path / "cards"


# ---------------------------------------------------------------------------------- release
def test_release_is_allow_listed_and_drops_planted_files(classifier_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(classifier_run, run)
    (run / "optimizer.pt").write_bytes(b"optimizer state")
    (run / "scheduler.bin").write_bytes(b"scheduler state")
    torch.save({"weights": torch.zeros(2)}, run / "pytorch_model.bin")  # a pickle
    (run / ".env").write_text(f"HF_TOKEN={SECRET}\n")
    (run / "secrets.json").write_text(json.dumps({"token": SECRET}))
    (run / "notes.txt").write_text("scratch")
    (run / "train_helper.py").write_text("print('not model code')\n")
    (run / "figures").mkdir()
    (run / "figures" / "confusion_matrix.png").write_bytes(_png_bytes())
    assert list(run.glob("checkpoint-*"))  # the run has checkpoints (with optimizer states) too

    release = hub.build_release(run, tmp_path / "release", repo_id="alice/mlp")
    files = hub.list_folder(release)
    # The modeling code is what save_pretrained put in the run (it grows as models/ is split into helpers).
    code = sorted(path.name for path in classifier_run.glob("*.py"))
    assert {"configuration_classifier.py", "image_processing_tinyvision.py", "modeling_classifier.py"} <= set(code)
    assert files == sorted([
        "README.md", "all_results.json", "config.json", "figures/confusion_matrix.png",
        "figures/training_curves.png", "history.json", "model.safetensors", "preprocessor_config.json", *code,
    ])
    for name in files:
        assert SECRET.encode() not in (release / name).read_bytes(), name
    assert "![Confusion matrix](figures/confusion_matrix.png)" in (release / "README.md").read_text()
    # The evidence is the run's JSON, numbers unchanged.
    assert json.loads((release / "all_results.json").read_text()) == json.loads((run / "all_results.json").read_text())

    with pytest.raises(FileExistsError, match="not empty"):
        hub.build_release(run, release)
    assert hub.build_release(run, release, overwrite=True) == release.resolve()
    with pytest.raises(hub.ReleaseError, match="outside the run"):
        hub.build_release(run, run / "checkpoint-6")


def test_photo_reader_release_ships_the_code_both_stages_need(clock_photo_run, tmp_path):
    release = hub.build_release(clock_photo_run, tmp_path / "release", repo_id="alice/photo")
    files = hub.list_folder(release)
    code = [name for name in files if name.endswith(".py")]
    assert code == sorted(path.name for path in clock_photo_run.glob("*.py"))
    assert {"configuration_clock.py", "configuration_clock_photo.py", "image_processing_tinyvision.py",
            "modeling_clock.py", "modeling_clock_photo.py", "pipeline_clock.py"} <= set(code)
    assert {"README.md", "config.json", "preprocessor_config.json", "model.safetensors", "all_results.json",
            "history.json", "figures/training_curves.png"} <= set(files)
    assert not any("checkpoint" in name or name == "run_config.json" for name in files)
    photos = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        a = AutoModel.from_pretrained(clock_photo_run).eval()(pixel_values=photos)
        b = AutoModel.from_pretrained(release).eval()(pixel_values=photos)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.confidence, b.confidence)


def _png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_run_without_final_metrics_is_refused(classifier_run, gan_run, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(classifier_run, unfinished)
    (unfinished / "all_results.json").unlink()
    with pytest.raises(hub.ReleaseError, match=r"no final metrics \(all_results.json is missing\).*resume"):
        hub.build_release(unfinished, tmp_path / "out")
    assert not (tmp_path / "out").exists()

    unevaluated = tmp_path / "unevaluated"
    shutil.copytree(classifier_run, unevaluated)
    metrics = json.loads((unevaluated / "all_results.json").read_text())
    (unevaluated / "all_results.json").write_text(json.dumps({k: v for k, v in metrics.items()
                                                              if not k.startswith(("test_", "eval_"))}))
    with pytest.raises(hub.ReleaseError, match="no final metrics for a classifier card"):
        hub.render_model_card(unevaluated)

    no_fid = tmp_path / "gan"
    shutil.copytree(gan_run, no_fid)
    (no_fid / "fid_kid.json").unlink()
    with pytest.raises(hub.ReleaseError, match="evaluate_generator.py"):
        hub.build_release(no_fid, tmp_path / "gan-out")


def test_generative_release_ships_fid_evidence_without_local_paths(gan_run, tmp_path):
    release = hub.build_release(gan_run, tmp_path / "release", repo_id="alice/gan")
    files = hub.list_folder(release)
    assert "fid_kid.json" in files and "modeling_gan.py" in files
    samples = [name for name in files if name.startswith("figures/samples-")]
    assert samples == ["figures/samples-epoch-002.png"]  # only the last epoch's grid
    evidence = json.loads((release / "fid_kid.json").read_text())
    original = json.loads((gan_run / "fid_kid.json").read_text())
    assert evidence["fid"] == original["fid"] and evidence["model_dir"] == "path/to/gan"
    assert not any(name.endswith((".bin", ".pkl", ".jsonl")) or "checkpoint" in name for name in files)


def test_release_loads_with_from_pretrained(classifier_run, clock_run, tmp_path):
    pixels = torch.randn(3, 1, 12, 12)
    release = hub.build_release(classifier_run, tmp_path / "mlp")
    original = AutoModelForImageClassification.from_pretrained(classifier_run).eval()
    loaded = AutoModelForImageClassification.from_pretrained(release).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=pixels).logits, original(pixel_values=pixels).logits)

    release = hub.build_release(clock_run, tmp_path / "clock")
    clocks = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        a = AutoModel.from_pretrained(clock_run).eval()(pixel_values=clocks)
        b = AutoModel.from_pretrained(release).eval()(pixel_values=clocks)
    torch.testing.assert_close(a.logits, b.logits)


REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from PIL import Image
    from transformers import AutoModel, AutoModelForImageClassification, pipeline

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 30, 3), dtype=np.uint8))
    results = {}
    for kind, folder, inputs in json.loads(open(sys.argv[1]).read()):
        inputs, out = torch.load(inputs), {}
        if kind == "classifier":
            model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
            out["values"] = model(pixel_values=inputs).logits.tolist()
            out["top"] = pipeline("image-classification", model=folder, trust_remote_code=True)(image)[0]["label"]
        elif kind in ("clock_reader", "clock_photo_reader"):
            model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
            out["values"] = model(pixel_values=inputs).logits.tolist()
            out["reading"] = pipeline("clock-reading", model=folder, trust_remote_code=True)(image)
            out["top"] = out["reading"]["time"]
        else:
            model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
            out["values"] = model.generate(latents=inputs).tolist()
        out["module"] = type(model).__module__
        results[kind] = out
    print(json.dumps(results))
    """
)


def test_releases_load_with_trust_remote_code_where_tinyvision_cannot_be_imported(request, tmp_path):
    """Every family's release folder, in one clean subprocess (starting Python + transformers is the cost)."""
    jobs, expected = [], {}
    for family, fixture in FAMILY_RUNS.items():
        release = hub.build_release(request.getfixturevalue(fixture), tmp_path / family)
        model = AutoModel.from_pretrained(release).eval()
        with torch.no_grad():
            if family in ("gan", "vae"):
                inputs = torch.randn(2, model.config.latent_dim)
                expected[family] = model.generate(latents=inputs)
            else:
                inputs = torch.randn(2, 1, model.config.image_size, model.config.image_size)
                expected[family] = model(pixel_values=inputs).logits
        torch.save(inputs, tmp_path / f"{family}.pt")
        jobs.append((family, str(release), str(tmp_path / f"{family}.pt")))
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    payload = run_without_tinyvision(REMOTE_SCRIPT, tmp_path / "jobs.json", cwd=tmp_path, timeout=600)
    assert set(payload) == set(FAMILY_RUNS)
    for family, values in expected.items():
        assert payload[family]["module"].startswith("transformers_modules"), family
        torch.testing.assert_close(torch.tensor(payload[family]["values"]), values, msg=family)
    labels = json.loads((tmp_path / "classifier" / "config.json").read_text())["id2label"].values()
    assert payload["classifier"]["top"] in labels and ":" in payload["clock_reader"]["top"]
    reading = payload["clock_photo_reader"]["reading"]  # a photo reading: the time, the confidence and the box
    assert ":" in reading["time"] and 0.0 <= reading["confidence"] <= 1.0 and isinstance(reading["found"], bool)
    assert set(reading["box"]) == {"xmin", "ymin", "xmax", "ymax"}


# ---------------------------------------------------------------------------------- publish
def test_publish_makes_one_upload_with_the_right_arguments_and_never_leaks_the_token(classifier_run, tmp_path,
                                                                                        caplog, capsys):
    release = hub.build_release(classifier_run, tmp_path / "release", repo_id="alice/mlp")
    api = FakeApi()
    with caplog.at_level(logging.DEBUG):
        commit = hub.publish(release, "alice/mlp", private=True, create_pr=True, token=SECRET, api=api)
    assert commit.commit_url.endswith("/commit/1")
    (create,), (upload,) = api.named("create_repo"), api.named("upload_folder")
    assert create[1] == "alice/mlp" and create[2]["private"] is True and create[2]["exist_ok"] is True
    kwargs = upload[2]
    assert kwargs["folder_path"] == str(release) and kwargs["repo_id"] == "alice/mlp"
    assert kwargs["create_pr"] is True and kwargs["token"] == SECRET and kwargs["repo_type"] is None
    assert "*.safetensors" in kwargs["allow_patterns"] and "*.bin" in kwargs["ignore_patterns"]
    assert sorted(api.uploaded) == hub.list_folder(release)
    assert SECRET not in caplog.text and SECRET not in capsys.readouterr().out
    assert not any(SECRET.encode() in content for content in api.uploaded.values())

    with pytest.raises(ValueError, match="user/name"):
        hub.publish(release, "not a repo id", api=FakeApi())


def test_publish_of_a_run_folder_uploads_its_release_not_the_run(classifier_run):
    api = FakeApi()
    hub.publish(classifier_run, "alice/mlp", api=api)
    assert len(api.named("upload_folder")) == 1
    assert "README.md" in api.uploaded and "model.safetensors" in api.uploaded
    assert not any(name.startswith("checkpoint-") or name == "run_config.json" for name in api.uploaded)


def test_publish_of_a_run_folder_can_keep_its_release(classifier_run, tmp_path):
    api = FakeApi()
    hub.publish(classifier_run, "alice/mlp", api=api, release_dir=tmp_path / "release")
    (upload,) = api.named("upload_folder")
    assert upload[2]["folder_path"] == str((tmp_path / "release").resolve())
    assert sorted(api.uploaded) == hub.list_folder(tmp_path / "release")
    hub.publish(classifier_run, "alice/mlp", api=api, release_dir=tmp_path / "release")  # an earlier release: replaced
    with pytest.raises(ValueError, match="release_dir is for a training run folder"):
        hub.publish(tmp_path / "release", "alice/mlp", api=api, release_dir=tmp_path / "other")


def test_train_classifier_push_to_hub_goes_through_the_release(tiny_dataset_dir, tmp_path, monkeypatch):
    import huggingface_hub

    from tinyvision.tasks.classification import ClassifierArguments, train_classifier

    apis = []

    def make_api(token=None):
        apis.append(FakeApi(token))
        return apis[-1]

    monkeypatch.setattr(huggingface_hub, "HfApi", make_api)
    train_classifier(ClassifierArguments(dataset_name=str(tiny_dataset_dir), model="mlp",
                                         config_overrides='{"hidden_sizes": [4]}'),
                     _tiny_args(tmp_path / "run", num_train_epochs=1, push_to_hub=True, hub_model_id="alice/pushed",
                                hub_private_repo=True))
    (api,) = apis
    (create,), (upload,) = api.named("create_repo"), api.named("upload_folder")
    assert create[2]["private"] is True and upload[1] == "alice/pushed"
    assert "README.md" in api.uploaded and b'"alice/pushed"' in api.uploaded["README.md"]
    assert not any("checkpoint" in name for name in api.uploaded)


def test_publish_script_dry_run_lists_exactly_the_folder(classifier_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(classifier_run, run)
    publish_script = load_script("publish")
    api = FakeApi()
    assert publish_script.main(["--run_dir", str(run), "--repo_id", "alice/mlp", "--dry_run"], api=api) == 0
    assert api.calls == []
    listed = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    release = run / "release"
    on_disk = sorted(str(path.relative_to(release).as_posix()) for path in release.rglob("*") if path.is_file())
    assert listed == on_disk == hub.list_folder(release)

    # Not a dry run: the same folder goes up in one upload.
    assert publish_script.main(["--run_dir", str(run), "--repo_id", "alice/mlp", "--private"], api=api) == 0
    (upload,) = api.named("upload_folder")
    assert sorted(api.uploaded) == listed and api.named("create_repo")[0][2]["private"] is True

    unfinished = tmp_path / "unfinished"
    shutil.copytree(classifier_run, unfinished)
    (unfinished / "all_results.json").unlink()
    assert publish_script.main(["--run_dir", str(unfinished), "--repo_id", "alice/mlp", "--dry_run"]) == 2
    assert "no final metrics" in capsys.readouterr().err


# ---------------------------------------------------------------------------- clock dataset
CLOCK_COLUMNS = ["image", "hour", "minute", "dial_rotation", "hour_hand_angle", "minute_hand_angle"]
TINY_CLOCKS = ["--num_train", "6", "--num_validation", "2", "--num_test", "2", "--size", "32", "--num_proc", "1",
               "--seed", "5"]


def test_make_clock_dataset_saves_what_load_from_disk_reads(tmp_path):
    import datasets

    from tinyvision.data.clocks import GENERATOR_VERSION, make_clock_dataset

    script = load_script("make_clock_dataset")
    out = tmp_path / "clocks"
    assert script.main([*TINY_CLOCKS, "--output_dir", str(out), "--format", "both"]) == 0
    saved = datasets.load_from_disk(str(out))
    assert {name: len(split) for name, split in saved.items()} == {"train": 6, "validation": 2, "test": 2}
    for split in saved.values():
        assert split.column_names == CLOCK_COLUMNS
    expected = make_clock_dataset(2, size=32, seed=5 + 2_000_000, num_proc=1)
    assert saved["test"]["hour"] == expected["hour"] and saved["test"]["minute"] == expected["minute"]
    assert saved["train"][0]["image"].size == (32, 32)

    # The Hub-style folder: parquet files, a card with the generator version and seeds, a figure.
    folder = out / "hub"
    assert hub.list_folder(folder) == ["README.md", "data/test-00000-of-00001.parquet",
                                       "data/train-00000-of-00001.parquet",
                                       "data/validation-00000-of-00001.parquet", "figures/samples.png"]
    reloaded = datasets.load_dataset(str(folder))
    assert reloaded["train"].column_names == CLOCK_COLUMNS and len(reloaded["validation"]) == 2
    card = DatasetCard.load(folder / "README.md")
    assert card.data.license == "mit" and card.data.size_categories == ["n<1K"]
    assert [config["data_files"][0]["split"] for config in card.data.configs] == ["train"]
    assert {s["name"]: s["num_examples"] for s in card.data.dataset_info["splits"]} == {
        "train": 6, "validation": 2, "test": 2}
    assert f"generator version **{GENERATOR_VERSION}**" in card.text
    assert "| test | 2 | 2000005 |" in card.text
    assert "make_clock_dataset(6, size=32, seed=5, mode=\"L\")" in card.text


def test_make_clock_dataset_push_goes_through_publish_with_its_card(tmp_path):
    from tinyvision.data.clocks import GENERATOR_VERSION

    script = load_script("make_clock_dataset")
    api = FakeApi()
    assert script.main([*TINY_CLOCKS, "--push_to_hub", "--repo_id", "alice/clocks", "--private"], api=api) == 0
    (create,), (upload,) = api.named("create_repo"), api.named("upload_folder")
    assert create[1] == "alice/clocks" and create[2]["repo_type"] == "dataset" and create[2]["private"] is True
    assert upload[2]["repo_type"] == "dataset" and "*.parquet" in upload[2]["allow_patterns"]
    assert f"v{GENERATOR_VERSION}" in upload[2]["commit_message"]
    assert sorted(api.uploaded) == ["README.md", "data/test-00000-of-00001.parquet",
                                    "data/train-00000-of-00001.parquet", "data/validation-00000-of-00001.parquet",
                                    "figures/samples.png"]
    readme = api.uploaded["README.md"].decode()
    assert f"generator v{GENERATOR_VERSION}" in readme and "| train | 6 | 5 |" in readme
    assert 'load_dataset("alice/clocks")' in readme
