"""CSV cells as the exports and insights write them: safe from spreadsheet formula injection
(OWASP), and lists in one cell that split back exactly (the conventions are in
catalogue/exports.py's docstring)."""

# Cells a spreadsheet would read as a formula, plus the apostrophe that marks a neutralised one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
SEPARATOR = "; "


def neutralise(cell):
    """A cell no spreadsheet will run as a formula (OWASP CSV injection), reversibly."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def escape_item(text):
    return text.replace("\\", "\\\\").replace(";", "\\;")


def split_items(cell):
    """The items of a list cell (after removing a neutralising apostrophe): join's inverse."""
    items, current, chars = [], [], iter(cell)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ";":
            items.append("".join(current))
            current = []
            next(chars, None)  # the space after the separator
        else:
            current.append(char)
    if current or items:
        items.append("".join(current))
    return items


def item_text(column, item):
    """How one partner, metric or source reads in a CSV cell."""
    if column == "partners":
        return f"{item['organisation']} ({item['role']})"
    if column == "metrics":
        parts = [f"{item['label']}: {item['display']}"]
        if item["baseline"]:
            parts.append(f"compared with {item['baseline']}")
        if item["period"]:
            parts.append(f"over {item['period']}")
        if item["source"]:
            parts.append(f"source: {item['source']}")
        if item["quote"]:
            parts.append(f"passage: “{item['quote']}”")
        return ", ".join(parts)
    if column == "quotes":
        text = f"“{item['text']}”"
        if item["locator"]:
            text += f" ({item['locator']})"
        return f"{text}, from {item['source']}"
    if column == "sources":
        text = ", ".join(
            part
            for part in (item["title"], item["author"], item["publisher"], item["published_on"])
            if part
        )
        return f"{text} <{item['url']}>" if item["url"] else text
    return item
