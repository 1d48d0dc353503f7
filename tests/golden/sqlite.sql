-- create_table
CREATE TABLE "demo_temperature" ("dt" DATETIME, "station id" TEXT, "value" REAL, "odd""name" INTEGER);

-- create_index
CREATE INDEX "IX_demo_temperature_keys" ON "demo_temperature" ("dt", "station id");

-- create_unique_index
CREATE UNIQUE INDEX "IX_demo_temperature_unique" ON "demo_temperature" ("dt", "station id");

-- add_column
ALTER TABLE "demo_temperature" ADD COLUMN "extra" JSON_TEXT;

-- widen_column
CREATE TABLE "demo_temperature__mrsm_widen" ("dt" DATETIME, "station id" TEXT, "value" TEXT, "odd""name" INTEGER); INSERT INTO "demo_temperature__mrsm_widen" ("dt", "station id", "value", "odd""name") SELECT "dt", "station id", CASE WHEN typeof("value") = 'real' THEN CASE WHEN CAST(printf('%!.15g', "value") AS REAL) = "value" THEN printf('%!.15g', "value") ELSE printf('%!.17g', "value") END ELSE "value" END, "odd""name" FROM "demo_temperature"; DROP TABLE "demo_temperature"; ALTER TABLE "demo_temperature__mrsm_widen" RENAME TO "demo_temperature"; CREATE INDEX "IX_demo_temperature_keys" ON "demo_temperature" ("dt", "station id");

-- create_stage
CREATE TEMPORARY TABLE "mrsm_stage_1" ("dt" DATETIME, "station id" TEXT, "value" REAL, "odd""name" INTEGER);

-- update_changed
UPDATE "demo_temperature" AS t SET "value" = s."value", "odd""name" = s."odd""name" FROM "mrsm_stage_1" AS s WHERE t."dt" = s."dt" AND t."station id" = s."station id" AND (t."value" IS NOT s."value" OR t."odd""name" IS NOT s."odd""name");

-- update_changed_null_ids
UPDATE "demo_temperature" AS t SET "value" = s."value" FROM "mrsm_stage_1" AS s WHERE t."dt" = s."dt" AND t."station id" IS s."station id" AND (t."value" IS NOT s."value");

-- update_upsert
UPDATE "demo_temperature" AS t SET "value" = s."value" FROM "mrsm_stage_1" AS s WHERE t."dt" = s."dt" AND t."station id" = s."station id";

-- merge
-- none;

-- insert_new
INSERT INTO "demo_temperature" ("dt", "station id", "value", "odd""name") SELECT s."dt", s."station id", s."value", s."odd""name" FROM "mrsm_stage_1" AS s WHERE NOT EXISTS (SELECT 1 FROM "demo_temperature" AS t WHERE t."dt" = s."dt" AND t."station id" IS s."station id");

-- insert_all
INSERT INTO "demo_temperature" ("dt", "station id", "value", "odd""name") SELECT "dt", "station id", "value", "odd""name" FROM "mrsm_stage_1";

-- select
SELECT "dt", "value" FROM "demo_temperature" WHERE "dt" >= :begin AND "dt" < :end AND ("station id" IS NULL OR "station id" IN (:p0_in0)) AND ("station id" NOT IN (:p0_out0)) AND ("value" IS NOT NULL) ORDER BY "dt" ASC, "station id" ASC LIMIT 100  -- [('begin', 'BEGIN'), ('end', 'END'), ('p0_in0', 'a'), ('p0_out0', 'b')];

-- delete
DELETE FROM "demo_temperature" WHERE "dt" >= :begin AND "dt" < :end AND ("station id" IS NULL OR "station id" IN (:p0_in0)) AND ("station id" NOT IN (:p0_out0)) AND ("value" IS NOT NULL);

-- deduplicate
CREATE TEMPORARY TABLE "mrsm_dedup" AS SELECT "dt", "station id", "value", "odd""name" FROM (SELECT "dt", "station id", "value", "odd""name", ROW_NUMBER() OVER (PARTITION BY "dt", "station id" ORDER BY "dt", "station id") AS mrsm_rn FROM "demo_temperature") AS d WHERE mrsm_rn = 1; DELETE FROM "demo_temperature"; INSERT INTO "demo_temperature" ("dt", "station id", "value", "odd""name") SELECT "dt", "station id", "value", "odd""name" FROM "mrsm_dedup"; DROP TABLE "mrsm_dedup";

-- columns
SELECT name, type FROM pragma_table_info(:table) ORDER BY cid;

-- pipes_table
CREATE TABLE IF NOT EXISTS "mrsm_pipes" (pipe_id INTEGER NOT NULL PRIMARY KEY, connector_keys VARCHAR(256) NOT NULL, metric_key VARCHAR(256) NOT NULL, location_key VARCHAR(256), parameters TEXT);

-- register
INSERT INTO "mrsm_pipes" (connector_keys, metric_key, location_key, parameters) VALUES (:connector_keys, :metric_key, :location_key, :parameters);

-- lock
-- a lock file on this machine;

