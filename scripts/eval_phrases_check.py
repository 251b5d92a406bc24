"""Checks the spoken-answer phrase inventory of tests/data/eval/ (issue 16, part 1) and prints its counts.

    python3 scripts/eval_phrases_check.py [tests/data/eval]

Standard library only (tomllib, Python 3.11+); reads no audio and runs no model. Exits 1 on any error.

Node files (every *.toml but descriptions.toml) hold, for one listening node of config/flows/main.toml,
`[intent.<name>]`, `[digits.<key>]` and `[none]` tables, each with `dev` and `heldout` lists. Checked:

- every file parses, has only those tables, and every list holds non-empty strings;
- the file's intents are exactly the node's choices as listen.rs makes them from the flow file (menu
  options; yes/no; a pick list's items by stored value, and `more` where the list is paged), and
  its digits tables are exactly the node's keys; main.toml also holds the reserved intents
  (human, repeat, slower, faster) and keys (0 * 7 9) that every node takes;
- every listening node of the flow has a file (menus, yes_no, picks, and the certificate digits
  node, whose read-back takes yes/no); speech_confirm.toml is the one file for no flow node;
- every phrase is unique in its file, compared spoken-alike: without whitespace and punctuation
  ("嗯，对" and "嗯对" are one phrase), so no phrase is in both splits, in two intents, or in an
  intent and `none`;
- a phrase that appears in several files has the same split everywhere (a heldout phrase in one
  node must not be a dev phrase in another: the word lists are shared);
- no heldout phrase is a word the recogniser is already given or was tuned on: the flow's option
  `words` and `[speech]` lists, the names of matters (and their parts, as listen.rs splits them at
  和), prefectures and counties, and the phrases of tests/data/*phrases*.toml;
- no phrase of another node is one of main.toml's reserved-intent phrases, which every node
  also takes (it would be ambiguous there);
- phrases are written as spoken: no ASCII letters or digits (spoken keys are Chinese characters);
- the minimum counts of the issue: main-menu intents >= 20 dev and >= 20 heldout, other nodes'
  intents >= 10 and >= 10, `none` >= 30 in main.toml and >= 10 elsewhere, every digits table
  non-empty in both splits.

descriptions.toml holds `dev` and `heldout` lists of free problem descriptions: >= 120 each, all
distinct (spoken-alike), 8-25 characters each. Length rule: every character but whitespace counts
one, Han characters and punctuation alike ("老板欠我工资，不给发" is 10); at least 8 of them must
be Han characters, and no ASCII letters or digits are allowed (numbers are written as spoken).
"""

import re
import sys
import tomllib
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESERVED = {"human": "0", "repeat": "*", "slower": "7", "faster": "9"}
NOT_A_NODE = {"speech_confirm": "the engine's speech_confirm question (keys only today)"}


def spoken(text):
    """The phrase as heard: no whitespace, no punctuation or symbols."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS")


def is_han(c):
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"


def matters():
    """(stored value, Chinese name) of every matter, from src/domain/matter.rs."""
    src = (ROOT / "src/domain/matter.rs").read_text()
    values = re.findall(r'Matter::(\w+) => "([a-z_]+)"', src)
    names = dict(re.findall(r'Matter::(\w+) => "([^"\x00-\x7f]+)"', src))
    return [(value, names[variant]) for variant, value in values]


def name_parts(name):
    parts = [name]
    if "和" in name:
        parts += [p for p in name.split("和") if len(p) >= 2]
    return parts


def expected(flow, regions):
    """Per listening node: (intents, keys) as listen.rs offers them (reserved ones excluded)."""
    out = {}
    mats = matters()
    for node, spec in flow["node"].items():
        kind = spec["kind"]
        if kind == "menu":
            out[node] = ({o["intent"] for o in spec["options"]}, {o["key"] for o in spec["options"]})
        elif kind == "yes_no" or (kind == "digits" and spec.get("field") == "certificate"):
            out[node] = ({"yes", "no"}, {"1", "2"})
        elif kind == "pick":
            source = spec["source"]
            if source == "matter":
                items = [v for v, _ in mats]
            elif source == "prefecture":
                items = [p["code"] for p in regions["prefecture"]]
            else:
                items = [c["code"] for p in regions["prefecture"] for c in p["counties"]]
            out[node] = (set(items) | {"more"}, {"1", "2", "3", "4"})
    return out


def known_words(flow, regions):
    """Words the recogniser is given or was tuned on: never heldout."""
    words = set()
    for values in flow.get("speech", {}).values():
        words.update(values)
    for spec in flow["node"].values():
        for option in spec.get("options", []):
            words.update(option.get("words", []))
    for _, name in matters():
        words.update(name_parts(name))
    for p in regions["prefecture"]:
        words.add(p["name"])
        words.update(c["name"] for c in p["counties"])
    for path in (ROOT / "tests/data").glob("*phrases*.toml"):
        for values in tomllib.loads(path.read_text()).values():
            words.update(values)
    return {spoken(w) for w in words}


class Report:
    def __init__(self):
        self.errors = []

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")


def lists_of(data, where, report):
    """Yields (table name, split, phrases) for every dev/heldout list of a node file."""
    for top, value in data.items():
        if top == "none":
            tables = {"none": value}
        elif top in ("intent", "digits"):
            tables = {f"{top}.{k}": v for k, v in value.items()}
        else:
            report.error(where, f"unexpected table [{top}]")
            continue
        for name, table in tables.items():
            if not isinstance(table, dict) or set(table) != {"dev", "heldout"}:
                report.error(where, f"[{name}] must have exactly `dev` and `heldout`")
                continue
            for split in ("dev", "heldout"):
                phrases = table[split]
                if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
                    report.error(where, f"[{name}].{split} must be a list of non-empty strings")
                    continue
                yield name, split, phrases


def check_nodes(folder, flow, regions, report):
    want = expected(flow, regions)
    known = known_words(flow, regions)
    files = sorted(p for p in folder.glob("*.toml") if p.name != "descriptions.toml")
    seen_split = {}  # spoken phrase -> (split, file)
    counts = {}
    reserved_phrases = set()
    parsed = {}
    for path in files:
        try:
            parsed[path.stem] = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            report.error(path.name, f"does not parse: {e}")
    for node in sorted(set(want) - set(parsed)):
        report.error(folder.name, f"listening node `{node}` has no file")
    main = parsed.get("main", {})
    for intent in RESERVED:
        for split in ("dev", "heldout"):
            reserved_phrases.update(spoken(p) for p in main.get("intent", {}).get(intent, {}).get(split, []))
    for key in RESERVED.values():
        for split in ("dev", "heldout"):
            reserved_phrases.update(spoken(p) for p in main.get("digits", {}).get(key, {}).get(split, []))

    for stem, data in parsed.items():
        where = f"{stem}.toml"
        if stem in want:
            intents, keys = want[stem]
        elif stem in NOT_A_NODE:
            intents, keys = {"yes", "no"}, {"1", "2"}
        else:
            report.error(where, "names no listening node of the flow file")
            continue
        if stem == "main":
            intents = intents | set(RESERVED)
            keys = keys | set(RESERVED.values())
        got_intents = set(data.get("intent", {}))
        got_keys = set(data.get("digits", {}))
        if got_intents != intents:
            report.error(where, f"intents missing {sorted(intents - got_intents)}, unexpected {sorted(got_intents - intents)}")
        if got_keys != keys:
            report.error(where, f"digits missing {sorted(keys - got_keys)}, unexpected {sorted(got_keys - keys)}")
        if "none" not in data:
            report.error(where, "no [none] table")

        in_file = {}
        node_counts = {}
        for name, split, phrases in lists_of(data, where, report):
            node_counts[(name, split)] = len(phrases)
            for phrase in phrases:
                s = spoken(phrase)
                if not s:
                    report.error(where, f"[{name}].{split}: {phrase!r} is only punctuation")
                    continue
                if re.search(r"[A-Za-z0-9０-９]", phrase):
                    report.error(where, f"[{name}].{split}: {phrase!r} is not written as spoken (ASCII letters or digits)")
                if s in in_file:
                    report.error(where, f"{phrase!r} is in [{name}].{split} and in {in_file[s]}")
                in_file[s] = f"[{name}].{split}"
                if split == "heldout" and s in known:
                    report.error(where, f"[{name}].heldout: {phrase!r} is a word the recogniser is given or tuned on (make it dev)")
                if stem != "main" and s in reserved_phrases:
                    report.error(where, f"[{name}].{split}: {phrase!r} is one of main.toml's reserved-intent phrases, taken at every node")
                if s in seen_split and seen_split[s][0] != split:
                    report.error(where, f"[{name}].{split}: {phrase!r} is {seen_split[s][0]} in {seen_split[s][1]}")
                seen_split.setdefault(s, (split, where))
        counts[stem] = node_counts

        lo = 20 if stem == "main" else 10
        for intent in got_intents:
            for split in ("dev", "heldout"):
                n = node_counts.get((f"intent.{intent}", split), 0)
                if n < lo:
                    report.error(where, f"[intent.{intent}].{split} has {n} phrases, fewer than {lo}")
        for key in got_keys:
            for split in ("dev", "heldout"):
                if node_counts.get((f"digits.{key}", split), 0) == 0:
                    report.error(where, f"[digits.{key}].{split} is empty")
        none = node_counts.get(("none", "dev"), 0) + node_counts.get(("none", "heldout"), 0)
        if none < (30 if stem == "main" else 10):
            report.error(where, f"[none] has {none} phrases, fewer than {30 if stem == 'main' else 10}")
    return counts


def check_descriptions(path, report):
    data = tomllib.loads(path.read_text())
    seen = {}
    lengths = {}
    for split in ("dev", "heldout"):
        items = data.get(split, [])
        if len(items) < 120:
            report.error(path.name, f"{split} has {len(items)} descriptions, fewer than 120")
        lengths[split] = []
        for text in items:
            n = sum(1 for c in text if not c.isspace())
            han = sum(1 for c in text if is_han(c))
            lengths[split].append(n)
            if not 8 <= n <= 25:
                report.error(path.name, f"{split}: {text!r} has {n} characters, not 8-25")
            if han < 8:
                report.error(path.name, f"{split}: {text!r} has only {han} Han characters")
            if re.search(r"[A-Za-z0-9０-９]", text):
                report.error(path.name, f"{split}: {text!r} has ASCII letters or digits (write numbers as spoken)")
            s = spoken(text)
            if s in seen:
                report.error(path.name, f"{text!r} is in {split} and in {seen[s]}")
            seen[s] = split
    if set(data) - {"dev", "heldout"}:
        report.error(path.name, f"unexpected keys {sorted(set(data) - {'dev', 'heldout'})}")
    return lengths


def main():
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/data/eval"
    flow = tomllib.loads((ROOT / "config/flows/main.toml").read_text())
    regions = tomllib.loads((ROOT / "config/regions/shaanxi.toml").read_text())
    report = Report()
    counts = check_nodes(folder, flow, regions, report)
    desc = folder / "descriptions.toml"
    lengths = check_descriptions(desc, report) if desc.exists() else report.error(folder.name, "no descriptions.toml")

    totals = defaultdict(int)
    for stem in sorted(counts, key=lambda s: (s != "main", s)):
        node = counts[stem]
        names = sorted({name for name, _ in node}, key=lambda n: (not n.startswith("intent"), n.startswith("none"), n))
        dev = sum(v for (n, s), v in node.items() if s == "dev")
        held = sum(v for (n, s), v in node.items() if s == "heldout")
        print(f"{stem}: {dev} dev, {held} heldout")
        per_table = [f"{n} {node.get((n, 'dev'), 0)}/{node.get((n, 'heldout'), 0)}" for n in names]
        if len(per_table) > 24:  # the county list: summarise
            intents = [n for n in names if n.startswith("intent.")]
            lo = min(node.get((n, s), 0) for n in intents for s in ("dev", "heldout"))
            print(f"  {len(intents)} intents, each at least {lo} dev and {lo} heldout; "
                  + ", ".join(t for t in per_table if not t.startswith("intent.6")))
        else:
            print("  " + ", ".join(per_table))
        for kind in ("intent", "digits", "none"):
            for split in ("dev", "heldout"):
                totals[(kind, split)] += sum(v for (n, s), v in node.items() if s == split and n.split(".")[0] == kind)
    print("all node files: " + ", ".join(f"{k} {totals[(k, 'dev')]} dev / {totals[(k, 'heldout')]} heldout" for k in ("intent", "digits", "none")))
    if lengths:
        for split, ns in lengths.items():
            if ns:
                print(f"descriptions {split}: {len(ns)}, {min(ns)}-{max(ns)} characters, mean {sum(ns) / len(ns):.1f}")
    for e in report.errors:
        print("error:", e, file=sys.stderr)
    if report.errors:
        print(f"{len(report.errors)} errors", file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
