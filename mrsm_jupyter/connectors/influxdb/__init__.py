"""InfluxDB 1.x as a pipe source and a pipe instance, over its HTTP API (``/query``, ``/write``).

>>> # MRSM_INFLUXDB_LAB=influxdb://user:pass@host:8086/database
>>> pipe = Pipe("demo", "weather", instance="influxdb:lab")  # doctest: +SKIP

A pipe is one measurement: its datetime column is InfluxDB's ``time``, its other key columns
are tags (so a point with the same tags and time overwrites the stored one, as a merge does),
and every other column is a field.
"""
