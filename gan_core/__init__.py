"""GAN Playground model core: configs, data, models, losses, the Trainer and the threaded Run.

No Streamlit here: the app's pages and the CLI (``python -m gan_core``) both drive this package.

    from gan_core import Run
    run = Run.from_preset("ring8"); run.start(); ...; run.snapshot(); run.stop()
"""
from .config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig
from .presets import PRESETS, preset_config
from .run import Run
from .trainer import Trainer

__all__ = ["Config", "DataConfig", "ModelConfig", "LossConfig", "TrainConfig", "PRESETS", "preset_config",
           "Run", "Trainer"]
