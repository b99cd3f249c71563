#!/usr/bin/env python3
"""Validate generated Ray autoscaler configs against Ray's own schema.

Usage: validate-ray.py CONFIG.yaml [...]
Checks each file with jsonschema against python/ray/autoscaler/ray-schema.json from the installed `ray`
package, then runs Ray's own prepare_config + validate_config (defaults filled in the way `ray up` does).
"""
import json
import logging
import os
import sys

import jsonschema
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

logging.getLogger("ray").setLevel(logging.WARNING)
logging.getLogger("ray.autoscaler").setLevel(logging.WARNING)

schema_path = os.path.join(os.path.dirname(ray.__file__), "autoscaler", "ray-schema.json")
with open(schema_path) as f:
    schema = json.load(f)

failed = 0
for path in sys.argv[1:]:
    with open(path) as f:
        config = yaml.safe_load(f)
    try:
        jsonschema.validate(config, schema)
        validate_config(prepare_config(config))
        print(f"ray-schema: {path}: valid (ray {ray.__version__}, {schema_path})")
    except Exception as e:  # noqa: BLE001 - report any failure with the file name
        failed += 1
        print(f"ray-schema: {path}: INVALID: {e}", file=sys.stderr)
sys.exit(1 if failed or not sys.argv[1:] else 0)
