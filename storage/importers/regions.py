"""Country -> world region, for the datasets' country names (UCI Online Retail spells a few its own way)."""

from __future__ import annotations

_REGIONS: dict[str, tuple[str, ...]] = {
    "Europe": (
        "United Kingdom", "France", "Netherlands", "Germany", "Norway", "EIRE", "Ireland", "Switzerland",
        "Spain", "Poland", "Portugal", "Italy", "Belgium", "Lithuania", "Iceland", "Channel Islands",
        "Denmark", "Cyprus", "Sweden", "Austria", "Finland", "Greece", "Czech Republic", "European Community",
        "Malta",
    ),
    "Asia": ("Japan", "Hong Kong", "Singapore", "China", "India", "Korea", "South Korea", "Taiwan"),
    "Middle East": ("Israel", "Bahrain", "Lebanon", "United Arab Emirates", "Saudi Arabia"),
    "North America": ("USA", "United States", "Canada"),
    "South America": ("Brazil",),
    "Africa": ("RSA", "South Africa", "Nigeria"),
    "Oceania": ("Australia", "New Zealand"),
}
_BY_COUNTRY = {country.casefold(): region for region, countries in _REGIONS.items() for country in countries}


def region_for(country: str | None) -> str | None:
    """None for unknown or "Unspecified" countries: a guessed region would skew regional reports."""
    if not country:
        return None
    return _BY_COUNTRY.get(country.strip().casefold())
