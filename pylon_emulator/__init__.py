"""A local Pylon API for the demo and for every test: synthetic data, rate limits, faults.

from pylon_emulator import EmulatorServer, PylonEmulator, generate

emulator = PylonEmulator(generate(seed=7, issues=200), time_scale=60)
with EmulatorServer(emulator) as server:
    ...  # point a PylonClient at server.url with emulator.token
"""

from pylon_emulator.app import DEMO_TOKEN, PylonEmulator
from pylon_emulator.dataset import Dataset, generate
from pylon_emulator.faults import Faults
from pylon_emulator.server import EmulatorServer

__all__ = ["DEMO_TOKEN", "Dataset", "EmulatorServer", "Faults", "PylonEmulator", "generate"]
