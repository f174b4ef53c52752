"""Audience exports: a segment of the customers as a Klaviyo, Mailchimp, Meta or Google file.

Pure functions on pandas frames; ``valuecast export`` (:mod:`valuecast.cli_exports`) runs the
analysis and calls them.  The path is::

    audience_table(analysis.customers, workspace contacts)     one row per customer
      -> segment_mask(table, name, as_of) | where_mask(table, EXPR)
      -> reachable(selected, to)    an e-mail (Meta, Google: or a phone, or a name and place)
      -> consenting(...)                                         accepts_marketing true only
      -> format_audience(selected, "klaviyo"|"mailchimp"|"meta"|"google")
      -> write_audience(frame, path)                             formula-safe CSV, atomically

:func:`build_audience` does all but the writing in one call.

Each step is a module: :mod:`~valuecast.outputs.audiences.table` (the customers and
consent), :mod:`~valuecast.outputs.audiences.segments` (named segments),
:mod:`~valuecast.outputs.audiences.where` (the ``--where`` language),
:mod:`~valuecast.outputs.audiences.contacts` (normalising and hashing contact fields),
:mod:`~valuecast.outputs.audiences.platforms` (the four formats) and
:mod:`~valuecast.outputs.audiences.build` (everything in one call, and the file).
"""

from __future__ import annotations

import importlib
from typing import Any

# each public name and the module that defines it: imported when first asked for, so that
# ``valuecast export --help`` reads the names module without the others' pandas
_HOMES = {
    "Audience": "build",
    "audience_text": "build",
    "build_audience": "build",
    "neutralize_formulas": "build",
    "write_audience": "build",
    "CALLING_CODES": "contacts",
    "country_code": "contacts",
    "e164_phone": "contacts",
    "impossible_phone": "contacts",
    "normalize_phone": "contacts",
    "sha256_hex": "contacts",
    "FORMATS": "names",
    "SEGMENTS": "names",
    "HEADERS": "platforms",
    "Formatted": "platforms",
    "format_audience": "platforms",
    "high_historic_value": "segments",
    "segment_mask": "segments",
    "AUDIENCE_COLUMNS": "table",
    "CONTACT_FIELDS": "table",
    "ExportError": "table",
    "audience_table": "table",
    "consent_today": "table",
    "consenting": "table",
    "parse_where": "where",
    "where_mask": "where",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = sorted(_HOMES)
