"""Write `geodata/iso3166.csv`: ISO 3166-1 numeric code -> alpha-3 code and name.

The importers need it (ACLED's `iso` column holds the numeric code). Run once at build time:

    python -m pip install pycountry==26.2.16 && python geodata/build_iso3166.py

pycountry 26.2.16 (LGPL-2.1) carries Debian's `iso-codes` data, i.e. ISO 3166-1. The output is
sorted by numeric code and written with `\n` line endings, so two runs give the same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    import pycountry

    rows = sorted((c.numeric, c.alpha_3, c.name) for c in pycountry.countries)
    with (HERE / "iso3166.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["numeric", "alpha3", "name"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {HERE / 'iso3166.csv'}")


if __name__ == "__main__":
    main()
