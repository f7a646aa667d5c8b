// Seeds N incidents through the API (keep-alive, a few in parallel), as a busy year would.
// usage: node bench/seed.mjs BASE_URL COOKIE CSRF N
const [base, cookie, csrf, nArg] = process.argv.slice(2);
const n = Number(nArg);
const types = ['intrusion', 'server_fault', 'public_opinion', 'website_tamper', 'media_ad', 'power_outage'];
let next = 0;
async function worker() {
  while (next < n) {
    const i = next++;
    const r = await fetch(`${base}/api/v1/incidents`, {
      method: 'POST',
      headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: types[i % types.length], title: `压测事件 ${i}`, source: '压测', scope: `范围 ${i % 17}`,
        drill: i % 10 === 0 }),
    });
    if (r.status !== 201) throw new Error(`seed ${i}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
