-- create_table
CREATE TABLE "demo_temperature" ("dt" TIMESTAMP WITH TIME ZONE, "station id" TEXT, "value" DOUBLE PRECISION, "odd""name" BIGINT);

-- create_index
CREATE INDEX "IX_demo_temperature_keys" ON "demo_temperature" ("dt", "station id");

-- create_unique_index
CREATE UNIQUE INDEX "IX_demo_temperature_unique" ON "demo_temperature" ("dt", "station id");

-- add_column
ALTER TABLE "demo_temperature" ADD COLUMN "extra" JSONB;

-- widen_column
SET enable_experimental_alter_column_type_general = true; ALTER TABLE "demo_temperature" ALTER COLUMN "value" TYPE TEXT USING "value"::TEXT;

-- create_stage
CREATE TEMPORARY TABLE "mrsm_stage_1" ("dt" TIMESTAMP WITH TIME ZONE, "station id" TEXT, "value" DOUBLE PRECISION, "odd""name" BIGINT);

-- update_changed
UPDATE "demo_temperature" AS t SET "value" = s."value", "odd""name" = s."odd""name" FROM "mrsm_stage_1" AS s WHERE t."dt" = s."dt" AND t."station id" = s."station id" AND (t."value" IS DISTINCT FROM s."value" OR t."odd""name" IS DISTINCT FROM s."odd""name");

-- update_changed_null_ids
UPDATE "demo_temperature" AS t SET "value" = s."value" FROM "mrsm_stage_1" AS s WHERE t."dt" = s."dt" AND t."station id" IS NOT DISTINCT FROM s."station id" AND (t."value" IS DISTINCT FROM s."value");

-- update_upsert
UPDATE "demo_temperature" AS t SET "value" = s."value" FROM "mrsm_stage_1" AS s WHERE t."dt" = s."dt" AND t."station id" = s."station id";

-- merge
-- none;

-- insert_new
INSERT INTO "demo_temperature" ("dt", "station id", "value", "odd""name") SELECT s."dt", s."station id", s."value", s."odd""name" FROM "mrsm_stage_1" AS s WHERE NOT EXISTS (SELECT 1 FROM "demo_temperature" AS t WHERE t."dt" = s."dt" AND t."station id" IS NOT DISTINCT FROM s."station id");

-- insert_all
INSERT INTO "demo_temperature" ("dt", "station id", "value", "odd""name") SELECT "dt", "station id", "value", "odd""name" FROM "mrsm_stage_1";

-- select
SELECT "dt", "value" FROM "demo_temperature" WHERE "dt" >= %(begin)s AND "dt" < %(end)s AND ("station id" IS NULL OR "station id" IN (%(p0_in0)s)) AND ("station id" NOT IN (%(p0_out0)s)) AND ("value" IS NOT NULL) ORDER BY "dt" ASC, "station id" ASC LIMIT 100  -- [('begin', 'BEGIN'), ('end', 'END'), ('p0_in0', 'a'), ('p0_out0', 'b')];

-- delete
DELETE FROM "demo_temperature" WHERE "dt" >= %(begin)s AND "dt" < %(end)s AND ("station id" IS NULL OR "station id" IN (%(p0_in0)s)) AND ("station id" NOT IN (%(p0_out0)s)) AND ("value" IS NOT NULL);

-- deduplicate
CREATE TEMPORARY TABLE "mrsm_dedup" AS SELECT "dt", "station id", "value", "odd""name" FROM (SELECT "dt", "station id", "value", "odd""name", ROW_NUMBER() OVER (PARTITION BY "dt", "station id" ORDER BY "dt", "station id") AS mrsm_rn FROM "demo_temperature") AS d WHERE mrsm_rn = 1; DELETE FROM "demo_temperature"; INSERT INTO "demo_temperature" ("dt", "station id", "value", "odd""name") SELECT "dt", "station id", "value", "odd""name" FROM "mrsm_dedup"; DROP TABLE "mrsm_dedup";

-- columns
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %(table)s AND table_schema = current_schema() ORDER BY ordinal_position;

-- pipes_table
CREATE TABLE IF NOT EXISTS "mrsm_pipes" (pipe_id INT8 PRIMARY KEY DEFAULT unique_rowid(), connector_keys VARCHAR(256) NOT NULL, metric_key VARCHAR(256) NOT NULL, location_key VARCHAR(256), parameters JSONB);

-- register
INSERT INTO "mrsm_pipes" (connector_keys, metric_key, location_key, parameters) VALUES (%(connector_keys)s, %(metric_key)s, %(location_key)s, CAST(%(parameters)s AS JSONB));

-- lock
-- a lock file on this machine;

