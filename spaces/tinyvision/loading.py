"""The demo's models: one table of slots (:data:`MODEL_SPECS`), where each slot is looked for, and loading.

The table is derived from the library: the classifier slots from the ``--preset`` recipes (``PRESETS``), the clock
slots from :data:`tinyvision.models.configuration_clock.HEADS` (the head of ``ClockReaderConfig()`` first, as
the recommended one). See ``app.py``'s docstring for the order in which sources are tried.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import gradio as gr
import torch

import tinyvision
from tinyvision.models.configuration_clock import HEADS, ClockReaderConfig
from tinyvision.recipes import PRESETS  # the classifier recipes that train_classifier.py's --preset accepts

logger = logging.getLogger("tinyvision.space")

HUB_ORG = os.environ.get("TINYVISION_HUB_ORG", "tinyvision")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model slot of the demo."""

    key: str  # slug: the Hub repo name and the default local folder name
    family: str  # classifier | clock | gan | vae
    label: str  # shown in the UI
    local: tuple[str, ...]  # folders under --models_dir, first one with a config.json wins
    how: str  # command that trains it
    dataset: str | None = None  # classifiers: fashion_mnist or cifar10
    head: str | None = None  # clock readers: the head the slot is meant for

    @property
    def hub_id(self) -> str:
        return f"{HUB_ORG}/{self.key}"

    @property
    def env_var(self) -> str:
        return "TINYVISION_MODEL_" + re.sub(r"[^A-Z0-9]+", "_", self.key.upper())


def preset_label(name: str, preset) -> str:
    """'mlp1' → 'MLP1'; a preset not named after its model family is prefixed with it: 'augmented' → 'CNN augmented'."""
    family = (preset.model or "").upper()
    return name.upper() if name.upper().startswith(family) else f"{family} {name}"


CLASSIFIER_DATASETS = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
CLASSIFIER_PRESETS = {name: preset_label(name, preset) for name, preset in PRESETS.items()}
RECOMMENDED_HEAD = ClockReaderConfig().head  # its slot is "clock-reader", trained by train_clock.py's defaults
CLOCK_HEADS = {head: f"{head} (recommended)" if head == RECOMMENDED_HEAD else head
               for head in (RECOMMENDED_HEAD, *(head for head in HEADS if head != RECOMMENDED_HEAD))}


def _model_specs() -> list[ModelSpec]:
    specs = []
    for dataset, dataset_label in CLASSIFIER_DATASETS.items():
        slug = dataset.replace("_", "-")
        for preset, preset_name in CLASSIFIER_PRESETS.items():
            key = f"{slug}-{preset}"
            specs.append(ModelSpec(
                key, "classifier", f"{dataset_label} · {preset_name}",
                local=tuple(dict.fromkeys((key, f"{dataset}/{preset}", f"{slug}/{preset}"))),
                how=f"python scripts/train_classifier.py --dataset_name ../shared/data/{dataset} --preset {preset} "
                    f"--output_dir outputs/{key}",
                dataset=dataset,
            ))
    for head, head_label in CLOCK_HEADS.items():
        recommended = head == RECOMMENDED_HEAD
        key = "clock-reader" if recommended else f"clock-reader-{head}"
        specs.append(ModelSpec(
            key, "clock", head_label, local=(key, f"clock-reader-{head}") if recommended else (key,),
            how="accelerate launch scripts/train_clock.py" + (
                "" if recommended else f" --model reader --head {head} --output_dir outputs/{key}"),
            head=head,
        ))
    specs.append(ModelSpec("cat-gan", "gan", "GAN", local=("cat-gan", "gan-cpu", "gan"),
                           how="accelerate launch scripts/train_gan.py --profile cpu --output_dir outputs/cat-gan"))
    specs.append(ModelSpec("cat-vae", "vae", "VAE", local=("cat-vae", "vae-cpu", "vae"),
                           how="accelerate launch scripts/train_vae.py --profile cpu --output_dir outputs/cat-vae"))
    return specs


MODEL_SPECS: list[ModelSpec] = _model_specs()


@dataclasses.dataclass
class LoadedModel:
    spec: ModelSpec
    source: str | None = None  # where it came from (folder or Hub id)
    model: object = None  # a pipeline (classifiers) or a PreTrainedModel
    processor: object = None  # clock readers: their image processor
    error: str | None = None  # why it is missing
    label: str = ""

    @property
    def ok(self) -> bool:
        return self.model is not None


@dataclasses.dataclass
class ModelRegistry:
    entries: list[LoadedModel]

    def family(self, family: str, *, loaded: bool = True) -> dict[str, LoadedModel]:
        return {e.label: e for e in self.entries if e.spec.family == family and e.ok == loaded}

    def summary(self) -> str:
        lines = []
        for entry in self.entries:
            if entry.ok:
                lines.append(f"- **{entry.label}** ({entry.spec.family}) — `{entry.source}`")
        return "\n".join(lines) or "- none"


def pick(family: dict[str, LoadedModel], name, what: str) -> LoadedModel:
    """The model labelled ``name`` in ``family`` (a dropdown's choice), or a friendly error."""
    if name in family:
        return family[name]
    raise gr.Error(f"Unknown {what} {name!r}; choose one of: {', '.join(family)}.")


def _hub_offline(use_hub: bool) -> bool:
    return not use_hub or os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def candidate_sources(spec: ModelSpec, models_dir: str | Path | None, *, use_hub: bool = True,
                      environ: Mapping[str, str] | None = None) -> list[str]:
    """Where ``spec`` may be loaded from, in order (see ``app.py``'s docstring)."""
    environ = os.environ if environ is None else environ
    override = environ.get(spec.env_var, "").strip()
    if override:
        return [override]
    sources = []
    if models_dir is not None:
        for name in spec.local:
            folder = Path(models_dir).expanduser() / name
            if (folder / "config.json").is_file():
                sources.append(str(folder))
                break
    if use_hub:
        sources.append(spec.hub_id)
    return sources


# The model class of each family (tinyvision's own, so no remote code is ever run).
FAMILY_CLASSES = {
    "clock": ("tinyvision.models.modeling_clock", "ClockReader"),
    "gan": ("tinyvision.models.modeling_gan", "GANModel"),
    "vae": ("tinyvision.models.modeling_vae", "VAEModel"),
}
# Other classes a family's slot may hold, told apart by config.json's model_type: any clock slot may hold the
# two-stage photo reader (it finds the dial in a whole photo, then reads it).
FAMILY_VARIANTS = {
    "clock": (("tinyvision.models.modeling_clock_photo", "ClockPhotoReader"),),
}
PHOTO_READER_TYPE = "tinyvision_clock_photo"
PHOTO_LABEL = "photo reader (finds the dial)"


def _import_class(module_name: str, class_name: str):
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ImportError(f"this tinyvision ({tinyvision.__version__}) has no {class_name}") from error


def family_classes(family: str) -> dict:
    """``model_type`` → model class for every class a slot of ``family`` may hold (variants this tinyvision
    lacks are left out; ImportError when it lacks the family's own class)."""
    classes = {}
    for module_name, class_name in (FAMILY_CLASSES[family], *FAMILY_VARIANTS.get(family, ())):
        try:
            model_class = _import_class(module_name, class_name)
        except ImportError:
            if (module_name, class_name) == FAMILY_CLASSES[family]:
                raise
            continue
        classes[model_class.config_class.model_type] = model_class
    return classes


def is_photo_reader(model) -> bool:
    """Whether a clock model is the two-stage photo reader (it locates the dial itself)."""
    return getattr(model.config, "model_type", None) == PHOTO_READER_TYPE


def reader_head(model) -> str:
    """The head a clock model reads with (the photo reader's is its reader stage's)."""
    return model.config.reader_config.head if is_photo_reader(model) else model.config.head


def _load_one(spec: ModelSpec, source: str, offline: bool):
    from transformers import AutoConfig, AutoImageProcessor, pipeline

    local = Path(source).expanduser().is_dir()
    hub = {} if local else {"local_files_only": offline}
    # trust_remote_code=False: tinyvision's registered classes load the folder; its code copy never runs.
    kwargs = {"trust_remote_code": False, **hub}
    if spec.family == "classifier":
        classifier = pipeline("image-classification", model=source, device="cpu", **kwargs)
        classifier.model.eval()
        return classifier, None
    classes = family_classes(spec.family)
    model_type = AutoConfig.from_pretrained(source, **kwargs).model_type
    if model_type not in classes:
        raise ValueError(f"{source} holds a {model_type!r} model, not a {' or '.join(map(repr, classes))} one")
    model = classes[model_type].from_pretrained(source, **hub).eval()
    processor = AutoImageProcessor.from_pretrained(source, **kwargs) if spec.family == "clock" else None
    return model, processor


def prepare_for_inference(entry: LoadedModel) -> None:
    """Channels-last weights for the convolutional classifiers, the GAN and the VAE: oneDNN's convolutions (and
    transposed convolutions) run about 1.5 to 2 times faster on CPU in that layout (same results to ~1e-6).
    The clock readers keep the layout ``pipeline("clock-reading")`` uses, so the Space reads as the pipeline."""
    if entry.spec.family in ("classifier", "gan", "vae"):
        module = entry.model.model if entry.spec.family == "classifier" else entry.model
        if any(parameter.dim() == 4 for parameter in module.parameters()):
            module.to(memory_format=torch.channels_last)


def warm_up(entry: LoadedModel) -> None:
    """One dummy call through the path the app's handlers take, at start-up: the first visitor does not pay
    for oneDNN's kernel selection and the lazy set-ups on the first forward."""
    from PIL import Image

    with torch.inference_mode():
        if entry.spec.family == "classifier":
            config = entry.model.model.config
            mode = "L" if config.num_channels == 1 else "RGB"
            entry.model(Image.new(mode, (config.image_size, config.image_size)), top_k=1)
        elif entry.spec.family == "clock":
            config = entry.model.config
            blank = Image.new("L" if config.num_channels == 1 else "RGB", (config.image_size, config.image_size))
            entry.model(pixel_values=entry.processor(blank, return_tensors="pt")["pixel_values"])
        else:
            entry.model.generate(2, seed=0)
            if entry.spec.family == "vae":
                side = entry.model.config.image_size
                entry.model.reconstruct(Image.new("RGB" if entry.model.config.num_channels == 3 else "L",
                                                  (side, side)))


def load_models(models_dir: str | Path | None = "outputs", *, use_hub: bool = True,
                environ: Mapping[str, str] | None = None, specs: list[ModelSpec] | None = None,
                warm: bool = True) -> ModelRegistry:
    """Load every model of ``specs`` that can be found; remember why the others are missing. With ``warm``, ready
    each one for inference (:func:`prepare_for_inference`) and call it once (:func:`warm_up`)."""
    offline = _hub_offline(use_hub)
    entries = []
    for spec in specs or MODEL_SPECS:
        entry = LoadedModel(spec, label=spec.label)
        sources = candidate_sources(spec, models_dir, use_hub=use_hub, environ=environ)
        errors = []
        for source in sources:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    entry.model, entry.processor = _load_one(spec, source, offline)
                entry.source = source
                break
            except Exception as error:  # noqa: BLE001 - any failure means "not available", with the reason
                first_line = (str(error).splitlines() or [""])[0][:200]
                errors.append(f"{source}: {type(error).__name__}: {first_line}")
        if entry.ok and spec.family == "clock":
            if is_photo_reader(entry.model):  # the recommended slot's photo reader, or one put in another slot
                entry.label = PHOTO_LABEL if spec.head == reader_head(entry.model) else f"{spec.key} ({PHOTO_LABEL})"
            elif entry.model.config.head != spec.head:
                entry.label = f"{spec.key} ({entry.model.config.head} head)"
        if entry.ok and warm:
            prepare_for_inference(entry)
            warm_up(entry)
        if not entry.ok:
            entry.error = "; ".join(errors) if errors else "no local folder found and the Hub is off"
            logger.info("model %s not loaded: %s", spec.key, entry.error)
        entries.append(entry)
    return ModelRegistry(entries)


def missing_message(registry: ModelRegistry, family: str, what: str) -> str:
    """The text a tab shows instead of its controls when none of its models loaded."""
    specs = [e.spec for e in registry.entries if e.spec.family == family]
    lines = [f"### No {what} is available",
             (f"This tab needs a trained {what}. Train one in a checkout of the tinyvision repository and start "
              "the app with `--models_dir outputs/`:"), "", "```bash"]
    lines += [spec.how for spec in specs[:4]]
    lines += ["```", "", "or point the app at a model on the Hub (or any local folder) with an environment variable:",
              "", "| model | Hub id | environment variable |", "|---|---|---|"]
    lines += [f"| {spec.label} | `{spec.hub_id}` | `{spec.env_var}` |" for spec in specs]
    return "\n".join(lines)


def missing_note(registry: ModelRegistry, family: str) -> str:
    """The "More models" note under a working tab: the models of ``family`` that did not load, and how to get them."""
    missing = registry.family(family, loaded=False)
    if not missing:
        return ""
    rows = "\n".join(f"- {e.spec.label}: `{e.spec.how}` (or set `{e.spec.env_var}`)" for e in missing.values())
    return f"Not loaded here ({len(missing)}):\n\n{rows}"
