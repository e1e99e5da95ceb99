#!/usr/bin/env python3
# Turns the firing alerts of a Prometheus (GET /api/v1/alerts on stdin) into the
# webhook payload Alertmanager would send (version 4), for `braid drill
# --alert-file` in the local stack, which runs no Alertmanager. The fingerprint
# is a hash of the labels, as stable as Alertmanager's but not equal to it.
import json, sys, hashlib
alerts = json.load(sys.stdin)["data"]["alerts"]
out = {"version": "4", "status": "firing", "receiver": "braid", "groupLabels": {}, "commonLabels": {},
       "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "alerts": []}
for a in alerts:
    if a["state"] != "firing":
        continue
    fp = hashlib.sha256(json.dumps(a["labels"], sort_keys=True).encode()).hexdigest()[:16]
    out["alerts"].append({"status": "firing", "labels": a["labels"], "annotations": a["annotations"],
                          "startsAt": a["activeAt"], "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": fp})
json.dump(out, sys.stdout, indent=1)
