-- Model names, versions and aliases (issue 22; src/registry). A model belongs to a registered name
-- (ModelName) with a version that counts up under it and is never handed out twice; `name@alias` points
-- at one version (ModelAlias) and every change of an alias is appended to ModelAliasEvent.

-- CreateTable
CREATE TABLE "ModelName" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "lastVersion" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelName_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelAlias" (
    "name" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "updatedByKey" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelAlias_pkey" PRIMARY KEY ("name","alias")
);

-- CreateTable
CREATE TABLE "ModelAliasEvent" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "fromVersion" INTEGER,
    "toVersion" INTEGER,
    "byKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelAliasEvent_pkey" PRIMARY KEY ("id")
);

-- AlterTable: the name a run's model is registered under (null: the default "<dataset>, run <id prefix>")
ALTER TABLE "TrainingRun" ADD COLUMN     "modelName" TEXT;

-- Backfill: one registered name per distinct model name, its versions numbered by creation order
INSERT INTO "ModelName" ("id", "name", "lastVersion", "createdAt")
SELECT gen_random_uuid()::text, "name", count(*)::int, min("createdAt") FROM "Model" GROUP BY "name";

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 0;

UPDATE "Model" m SET "version" = v.n
FROM (SELECT "id", row_number() OVER (PARTITION BY "name" ORDER BY "createdAt", "id")::int AS n FROM "Model") v
WHERE v."id" = m."id";

-- CreateIndex
CREATE UNIQUE INDEX "ModelName_name_key" ON "ModelName"("name");

-- CreateIndex
CREATE INDEX "ModelName_createdAt_id_idx" ON "ModelName"("createdAt", "id");

-- CreateIndex
CREATE INDEX "ModelAlias_modelId_idx" ON "ModelAlias"("modelId");

-- CreateIndex
CREATE INDEX "ModelAliasEvent_name_createdAt_id_idx" ON "ModelAliasEvent"("name", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Model_name_version_key" ON "Model"("name", "version");

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_name_fkey" FOREIGN KEY ("name") REFERENCES "ModelName"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_name_fkey" FOREIGN KEY ("name") REFERENCES "ModelName"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A model's version, whoever writes the row (the training job, `glimpse model import`, renameModel): on
-- insert, and when its name changes, it takes the next version of its (new) name. The upsert locks the
-- ModelName row, so concurrent registrations under one name wait for each other and never collide; a
-- version a writer gives is replaced, and an update that keeps the name keeps the version.
CREATE FUNCTION "model_version"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW."name" = OLD."name" THEN
    NEW."version" := OLD."version";
    RETURN NEW;
  END IF;
  INSERT INTO "ModelName" AS n ("id", "name", "lastVersion") VALUES (gen_random_uuid()::text, NEW."name", 1)
  ON CONFLICT ("name") DO UPDATE SET "lastVersion" = n."lastVersion" + 1
  RETURNING n."lastVersion" INTO NEW."version";
  RETURN NEW;
END $$;

CREATE TRIGGER "model_version" BEFORE INSERT OR UPDATE OF "name", "version" ON "Model"
  FOR EACH ROW EXECUTE FUNCTION "model_version"();

-- The alias history is a record: rows are only ever added
CREATE FUNCTION "model_alias_event_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ModelAliasEvent is append-only';
END $$;

CREATE TRIGGER "model_alias_event_append_only" BEFORE UPDATE OR DELETE ON "ModelAliasEvent"
  FOR EACH ROW EXECUTE FUNCTION "model_alias_event_append_only"();
