// Every request handler the broker serves. ApiVersions advertises exactly this list.
import type { Handler } from "../handler.ts";
import { produceHandler } from "./00-produce.ts";
import { fetchHandler } from "./01-fetch.ts";
import { listOffsetsHandler } from "./02-list-offsets.ts";
import { metadataHandler } from "./03-metadata.ts";
import { findCoordinatorHandler } from "./10-find-coordinator.ts";
import { apiVersionsHandler } from "./18-api-versions.ts";
import { createTopicsHandler } from "./19-create-topics.ts";
import { deleteTopicsHandler } from "./20-delete-topics.ts";
import { describeConfigsHandler } from "./32-describe-configs.ts";

export const HANDLERS: readonly Handler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  findCoordinatorHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  describeConfigsHandler,
];
