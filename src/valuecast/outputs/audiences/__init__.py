"""Audience exports: a segment of the customers as a Klaviyo, Mailchimp, Meta or Google file.

Pure functions on pandas frames; ``valuecast export`` (:mod:`valuecast.cli_exports`) runs the
analysis and calls them.  The path is::

    audience_table(analysis.customers, workspace contacts)     one row per customer
      -> segment_mask(table, name, as_of) | where_mask(table, EXPR)
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

from valuecast.outputs.audiences.build import (
    Audience,
    build_audience,
    neutralize_formulas,
    write_audience,
)
from valuecast.outputs.audiences.contacts import (
    CALLING_CODES,
    country_code,
    e164_phone,
    normalize_phone,
    sha256_hex,
)
from valuecast.outputs.audiences.platforms import FORMATS, HEADERS, Formatted, format_audience
from valuecast.outputs.audiences.segments import SEGMENTS, high_historic_value, segment_mask
from valuecast.outputs.audiences.table import (
    AUDIENCE_COLUMNS,
    CONTACT_FIELDS,
    ExportError,
    audience_table,
    consenting,
)
from valuecast.outputs.audiences.where import parse_where, where_mask

__all__ = [
    "AUDIENCE_COLUMNS",
    "CALLING_CODES",
    "CONTACT_FIELDS",
    "FORMATS",
    "HEADERS",
    "SEGMENTS",
    "Audience",
    "ExportError",
    "Formatted",
    "audience_table",
    "build_audience",
    "consenting",
    "country_code",
    "e164_phone",
    "format_audience",
    "high_historic_value",
    "neutralize_formulas",
    "normalize_phone",
    "parse_where",
    "segment_mask",
    "sha256_hex",
    "where_mask",
    "write_audience",
]
