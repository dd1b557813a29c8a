// node --test examples/node/ : the example client against the mock (mock.mjs).
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";

import { admin, startMock } from "./mock.mjs";
import { fetchAllVideos } from "./videosClient.mjs";

const DEMO_KEY = "sk_mock_demo"; // the image's demo key
let mock;

before(async () => { mock = await startMock(); });
after(async () => { await mock.stop(); });
beforeEach(async () => { await admin(mock.url, "POST", "/reset"); });

test("pages a profile to the end and the journal is clean", async () => {
  const videos = await fetchAllVideos(mock.url, DEMO_KEY, "videos-25"); // videos-N has exactly N videos
  assert.equal(videos.length, 25);
  assert.deepEqual(await admin(mock.url, "GET", "/requests/count?handle=videos-25&status=200"), { count: 3 });
  const verdict = await admin(mock.url, "POST", "/requests/verify");
  assert.deepEqual(verdict.summary, { requests: 3, violations: 0, warnings: 0 });
  assert.equal(verdict.ok, true);
});

test("retries two injected 503s", async () => {
  await admin(mock.url, "POST", "/faults", { status: 503, count: 2 });
  assert.equal((await fetchAllVideos(mock.url, DEMO_KEY, "videos-25")).length, 25);
  const { requests } = await admin(mock.url, "GET", "/requests");
  assert.deepEqual(requests.map((entry) => entry.status), [503, 503, 200, 200, 200]);
});
