// Testcontainers recipe (`npm install --save-dev testcontainers`): the mock's Docker image for a
// node:test suite. With DUMPLING_BASE_URL set, that mock is used instead (this project's own
// `make test` runs these tests so, without Docker).
//
// A published port reaches the container from Docker's bridge, not from loopback, so the admin
// API needs a token: the container gets DUMPLING_MOCK_ADMIN_TOKEN, admin calls send X-Admin-Token.
const IMAGE = process.env.DUMPLING_IMAGE ?? "dumpling-mock:local"; // `make docker-build` builds it
const ADMIN_TOKEN = process.env.DUMPLING_ADMIN_TOKEN ?? "example-admin-token";

export async function startMock() {
  if (process.env.DUMPLING_BASE_URL) {
    return { url: process.env.DUMPLING_BASE_URL.replace(/\/$/, ""), stop: async () => {} };
  }
  // Starting the container: the only part `make test` does not run.
  let testcontainers;
  try {
    testcontainers = await import("testcontainers");
  } catch {
    throw new Error("set DUMPLING_BASE_URL to a running mock, or `npm install` (testcontainers) to start its image");
  }
  const { GenericContainer, Wait } = testcontainers;
  const container = await new GenericContainer(IMAGE)
    .withExposedPorts(8080)
    .withEnvironment({ DUMPLING_MOCK_ADMIN_TOKEN: ADMIN_TOKEN })
    .withWaitStrategy(Wait.forHttp("/__admin/health", 8080).forStatusCode(200))
    .start();
  return {
    url: `http://${container.getHost()}:${container.getMappedPort(8080)}`,
    stop: () => container.stop(),
  };
}

// One call of the mock's admin API (openapi/admin.yaml); throws on an error status.
export async function admin(url, method, path, body) {
  const response = await fetch(`${url}/__admin${path}`, {
    method,
    headers: { "X-Admin-Token": ADMIN_TOKEN, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} /__admin${path}: ${response.status} ${await response.text()}`);
  return response.json();
}
