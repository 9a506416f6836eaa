#!/usr/bin/python3
"""Every JSON record the end-to-end tests read from a tracer's stdout (logged
by tests/e2e/tracer_process.cpp to TRACER_E2E_RECORD_LOG) must match
docs/schema/record.schema.json, checked with Debian's python3-jsonschema.

usage: records_match_schema.py SCHEMA RECORD_LOG
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("FAIL: python3-jsonschema is not installed (apt-get install python3-jsonschema)")


def main(schema_path, log_path):
    with open(schema_path, encoding="utf-8") as schema_file:
        schema = json.load(schema_file)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    records = failures = 0
    events = set()
    try:
        log = open(log_path, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        sys.exit(f"FAIL: no records were logged to {log_path}: no e2e test read JSON from a tracer")
    with log:
        for number, line in enumerate(log, 1):
            records += 1
            try:
                record = json.loads(line)
            except ValueError as error:
                failures += 1
                print(f"line {number}: not JSON ({error}): {line[:300]}")
                continue
            events.add(record.get("event"))
            errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
            if errors:
                failures += 1
                if failures <= 10:
                    for error in errors[:3]:
                        where = "/".join(str(part) for part in error.absolute_path)
                        print(f"line {number}: at /{where}: {error.message}")
                    print(f"  record: {line[:600]}")
    print(f"{records} records of {len(events)} events checked against {schema_path}: {failures} do not match")
    if records == 0:
        sys.exit("FAIL: no records were logged")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(*sys.argv[1:3])
