"""Tables of runs as Markdown (to read) or CSV (to load elsewhere), from rows of cell texts."""

from __future__ import annotations

import csv
import io

FORMATS = ("md", "csv")


def render(columns: list[str], rows: list[dict[str, str]], fmt: str) -> str:
    """`rows` map column -> cell text; a missing cell is empty."""
    if fmt == "csv":
        return csv_table(columns, rows)
    return markdown_table(columns, rows)


def markdown_table(columns: list[str], rows: list[dict[str, str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    lines = [line(columns), line(["---"] * len(columns))]
    lines += [line([row.get(column, "") for column in columns]) for row in rows]
    return "\n".join(lines) + "\n"


def csv_table(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
