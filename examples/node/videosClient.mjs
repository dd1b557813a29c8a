// An example client of DumplingAI's get-tiktok-profile-videos (Node 18+, global fetch): pages a
// profile to the end and retries the documented 503 (rate limit). The code under test.
const ENDPOINT = "/api/v1/get-tiktok-profile-videos";

export async function fetchAllVideos(baseUrl, apiKey, handle, { retries = 3, backoffMs = 50 } = {}) {
  const videos = [];
  let cursor;
  for (;;) {
    const body = JSON.stringify(cursor ? { handle, maxCursor: cursor } : { handle });
    let response;
    for (let attempt = 0; attempt <= retries; attempt++) {
      response = await fetch(baseUrl + ENDPOINT, {
        method: "POST",
        headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
        body,
      });
      if (response.status !== 503 || attempt === retries) break;
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** attempt));
    }
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    const page = await response.json();
    videos.push(...page.aweme_list);
    if (page.has_more !== 1) return videos;
    cursor = page.max_cursor;
  }
}
