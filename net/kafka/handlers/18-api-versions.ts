// ApiVersions (key 18), v0-3. v3 is flexible (request header v2) but its response always uses
// response header v0 (KIP-511). The answer lists exactly the versions each registered handler
// accepts, so what we advertise and what we parse cannot drift apart.
import { ApiVersions, type ApiVersionsRequest, type ApiVersionsResponse, defaultApiVersionsResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";

export const apiVersionsHandler = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  api: ApiVersions,
  minVersion: 0,
  maxVersion: 3,
  handle(_req, ctx) {
    const apiKeys = [...ctx.door.handlers.values()]
      .sort((a, b) => a.api.key - b.api.key)
      .map((h) => ({ apiKey: h.api.key, minVersion: h.minVersion, maxVersion: h.maxVersion }));
    return { ...defaultApiVersionsResponse(), errorCode: 0, apiKeys, throttleTimeMs: 0 };
  },
});
