// The baseline for `npm run bench`: a bare pass-through Worker doing the least a proxy can do.
export default {
  async fetch(request: Request, env: { ORIGIN_URL: string }): Promise<Response> {
    const url = new URL(request.url);
    const target = new URL(url.pathname + url.search, env.ORIGIN_URL);
    return fetch(new Request(target, request));
  },
};
