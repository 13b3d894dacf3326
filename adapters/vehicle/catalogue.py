"""Makes and models on Mongolia's roads, for realistic seed data.

Mostly used imports from Japan and Korea (the Toyota Prius alone is a large share of
Ulaanbaatar's cars), Land Cruisers for the countryside, Korean small trucks for trade, and
Russian UAZ vans and jeeps in the aimags. Weights are rough shares, not statistics.
"""

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class CarModel:
    """A model as sold, with the manufacturer identifier and descriptor its VINs start with."""

    make: str
    model: str
    wmi: str  # ISO 3780 world manufacturer identifier
    descriptor: str  # five VIN characters for model and body
    first_year: int
    last_year: int
    weight: int


CAR_MODELS: Final = (
    CarModel("Toyota", "Prius", "JTD", "KB20U", 2009, 2018, 30),
    CarModel("Toyota", "Prius Alpha", "JTD", "ZN40U", 2012, 2019, 5),
    CarModel("Toyota", "Land Cruiser 200", "JTM", "HV05J", 2008, 2021, 5),
    CarModel("Toyota", "Land Cruiser Prado", "JTE", "BU5JR", 2003, 2020, 6),
    CarModel("Toyota", "Camry", "JTN", "BF3EK", 2006, 2020, 3),
    CarModel("Toyota", "Harrier", "JTE", "HA31U", 2003, 2019, 3),
    CarModel("Lexus", "LX 570", "JTJ", "HY00W", 2008, 2021, 2),
    CarModel("Lexus", "RX 450h", "JTJ", "BC1BA", 2009, 2020, 2),
    CarModel("Hyundai", "Sonata", "KMH", "E341D", 2010, 2020, 4),
    CarModel("Hyundai", "Accent", "KMH", "CT41D", 2012, 2020, 4),
    CarModel("Hyundai", "Elantra", "KMH", "DH41E", 2011, 2020, 3),
    CarModel("Hyundai", "Santa Fe", "KMH", "S81DC", 2010, 2021, 3),
    CarModel("Hyundai", "Porter II", "KMF", "ZCZ7K", 2005, 2021, 6),
    CarModel("Kia", "Bongo III", "KNC", "SE211", 2006, 2021, 3),
    CarModel("Kia", "Sorento", "KNA", "KU811", 2010, 2020, 2),
    CarModel("Nissan", "X-Trail", "JN1", "TBNT3", 2008, 2018, 3),
    CarModel("Honda", "Fit", "JHM", "GE8H3", 2008, 2019, 3),
    CarModel("Subaru", "Forester", "JF1", "SHJLS", 2008, 2019, 2),
    CarModel("Mitsubishi", "Delica D:5", "JMB", "CV5W5", 2007, 2019, 2),
    CarModel("UAZ", "Patriot", "XTT", "31630", 2008, 2020, 2),
    CarModel("UAZ", "452 Буханка", "XTT", "45200", 1995, 2015, 2),
)


def find(make: str, model: str) -> CarModel:
    """The catalogue entry of `make` `model`; `KeyError` if it is not listed."""
    for entry in CAR_MODELS:
        if (entry.make, entry.model) == (make, model):
            return entry
    raise KeyError(f"{make} {model}")
