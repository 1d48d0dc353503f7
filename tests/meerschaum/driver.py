"""Runs inside Meerschaum's own virtual environment (see the Makefile's meerschaum target).

Usage: ``<meerschaum python> driver.py '<json request>'``; prints ``MRSM_RESULT <json>``.
Requests: ``list`` (keys of registered pipes), ``read`` (a pipe's data and sync time),
``sync`` (rows given as lists of values; ``utc_cols`` are parsed as UTC datetimes).
"""

import json
import sys

import meerschaum as mrsm
import pandas as pd


def jsonable(df):
    out = {}
    for col in df.columns:
        values = []
        for v in df[col].tolist():
            if v is None or (not isinstance(v, (list, dict, bytes)) and pd.isna(v)):
                values.append(None)
            elif hasattr(v, "isoformat"):
                values.append(v.isoformat())
            elif hasattr(v, "item"):
                values.append(v.item())
            else:
                values.append(v)
        out[col] = values
    return out


def main(request):
    instance, op = request["instance"], request["op"]
    if op == "list":
        pipes = mrsm.get_pipes(instance=instance, tags=request.get("tags"), as_list=True)
        return sorted([p.connector_keys, p.metric_key, p.location_key] for p in pipes)
    pipe = mrsm.Pipe(*request["keys"], instance=instance, **request.get("kwargs", {}))
    if op == "read":
        df = pipe.get_data(order="asc")
        sync_time = pipe.get_sync_time()
        return {
            "parameters": pipe.parameters,
            "sync_time": sync_time.isoformat() if sync_time is not None else None,
            "data": jsonable(df) if df is not None else None,
        }
    df = pd.DataFrame(request["data"])
    for col in request.get("utc_cols", []):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    success, message = pipe.sync(df)
    return {"success": success, "message": message}


if __name__ == "__main__":
    print("MRSM_RESULT " + json.dumps(main(json.loads(sys.argv[1])), default=str))
