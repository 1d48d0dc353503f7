-- create_table
CREATE TABLE [demo_temperature] ([dt] DATETIMEOFFSET(6), [station id] NVARCHAR(450), [value] FLOAT, [odd"name] BIGINT);

-- create_index
CREATE INDEX [IX_demo_temperature_keys] ON [demo_temperature] ([dt], [station id]);

-- create_unique_index
CREATE UNIQUE INDEX [IX_demo_temperature_unique] ON [demo_temperature] ([dt], [station id]);

-- add_column
ALTER TABLE [demo_temperature] ADD [extra] NVARCHAR(MAX);

-- widen_column
ALTER TABLE [demo_temperature] ALTER COLUMN [value] NVARCHAR(MAX);

-- create_stage
CREATE TABLE [#mrsm_stage_1] ([dt] DATETIMEOFFSET(6), [station id] NVARCHAR(450), [value] FLOAT, [odd"name] BIGINT);

-- update_changed
UPDATE t SET t.[value] = s.[value], t.[odd"name] = s.[odd"name] FROM [demo_temperature] AS t JOIN [#mrsm_stage_1] AS s ON t.[dt] = s.[dt] AND t.[station id] = s.[station id] WHERE (t.[value] IS DISTINCT FROM s.[value] OR t.[odd"name] IS DISTINCT FROM s.[odd"name]);

-- update_changed_null_ids
UPDATE t SET t.[value] = s.[value] FROM [demo_temperature] AS t JOIN [#mrsm_stage_1] AS s ON t.[dt] = s.[dt] AND t.[station id] IS NOT DISTINCT FROM s.[station id] WHERE (t.[value] IS DISTINCT FROM s.[value]);

-- update_upsert
UPDATE t SET t.[value] = s.[value] FROM [demo_temperature] AS t JOIN [#mrsm_stage_1] AS s ON t.[dt] = s.[dt] AND t.[station id] = s.[station id];

-- merge
-- none;

-- insert_new
INSERT INTO [demo_temperature] ([dt], [station id], [value], [odd"name]) SELECT s.[dt], s.[station id], s.[value], s.[odd"name] FROM [#mrsm_stage_1] AS s WHERE NOT EXISTS (SELECT 1 FROM [demo_temperature] AS t WHERE t.[dt] = s.[dt] AND t.[station id] IS NOT DISTINCT FROM s.[station id]);

-- insert_all
INSERT INTO [demo_temperature] ([dt], [station id], [value], [odd"name]) SELECT [dt], [station id], [value], [odd"name] FROM [#mrsm_stage_1];

-- select
SELECT TOP (100) [dt], [value] FROM [demo_temperature] WHERE [dt] >= :begin AND [dt] < :end AND ([station id] IS NULL OR [station id] IN (:p0_in0)) AND ([station id] NOT IN (:p0_out0)) AND ([value] IS NOT NULL) ORDER BY [dt] ASC, [station id] ASC  -- [('begin', 'BEGIN'), ('end', 'END'), ('p0_in0', 'a'), ('p0_out0', 'b')];

-- delete
DELETE FROM [demo_temperature] WHERE [dt] >= :begin AND [dt] < :end AND ([station id] IS NULL OR [station id] IN (:p0_in0)) AND ([station id] NOT IN (:p0_out0)) AND ([value] IS NOT NULL);

-- deduplicate
SELECT [dt], [station id], [value], [odd"name] INTO [#mrsm_dedup] FROM (SELECT [dt], [station id], [value], [odd"name], ROW_NUMBER() OVER (PARTITION BY [dt], [station id] ORDER BY [dt], [station id]) AS mrsm_rn FROM [demo_temperature]) AS d WHERE mrsm_rn = 1; DELETE FROM [demo_temperature]; INSERT INTO [demo_temperature] ([dt], [station id], [value], [odd"name]) SELECT [dt], [station id], [value], [odd"name] FROM [#mrsm_dedup]; DROP TABLE [#mrsm_dedup];

-- columns
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :table AND table_schema = SCHEMA_NAME() ORDER BY ordinal_position;

-- pipes_table
IF OBJECT_ID(N'mrsm_pipes', N'U') IS NULL CREATE TABLE [mrsm_pipes] (pipe_id INT IDENTITY(1,1) PRIMARY KEY, connector_keys NVARCHAR(256) NOT NULL, metric_key NVARCHAR(256) NOT NULL, location_key NVARCHAR(256), parameters NVARCHAR(MAX));

-- register
INSERT INTO [mrsm_pipes] (connector_keys, metric_key, location_key, parameters) VALUES (:connector_keys, :metric_key, :location_key, :parameters);

-- lock
EXEC sp_getapplock @Resource = :name, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 120000;

