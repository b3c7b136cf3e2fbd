import http2 from "node:http2";
import { Agent, get } from "node:https";
import { expect } from "chai";
import { createTlsHttp2Server, type TlsHttp2Server } from "../../lib/tls-http2-server.js";
import { listenOn } from "../../lib/tls-listen.js";
import { makeTestCerts, type TestCerts } from "../support/certs.js";
import { httpsGet } from "../support/tls-probes.js";

describe("createTlsHttp2Server", () => {
  let certs: TestCerts;
  before(async () => {
    certs = await makeTestCerts();
  });
  after(() => certs.cleanup());

  it("should let requests in flight finish on close, end idle connections, then stop accepting", async () => {
    let arrived = () => {};
    const slowArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let answerSlow = () => {};
    const served: TlsHttp2Server = createTlsHttp2Server(
      (req, res) => {
        if (req.url !== "/slow") return void res.end("ok");
        answerSlow = () => res.end("slow done");
        arrived();
      },
      { cert: certs.server.cert, key: certs.server.key },
    );
    const port = await listenOn(served.server, "127.0.0.1", 0);
    const agent = new Agent({ keepAlive: true, ca: certs.ca.cert, servername: "localhost" });
    const fetchText = (path: string) =>
      new Promise<string>((resolve, reject) => {
        get({ host: "127.0.0.1", port, path, agent }, (res) => {
          let body = "";
          res.on("data", (chunk) => {
            body += chunk;
          });
          res.on("end", () => resolve(body));
        }).once("error", reject);
      });
    const session = http2.connect(`https://localhost:${port}`, { ca: certs.ca.cert });
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    try {
      expect(await fetchText("/")).to.equal("ok"); // leaves an idle HTTP/1.1 keep-alive connection
      const slow = fetchText("/slow");
      await slowArrived;
      const closed = served.close();
      await goaway; // the idle HTTP/2 session is told to go away at once
      answerSlow();
      expect(await slow).to.equal("slow done");
      await closed;
      expect(await httpsGet(`https://127.0.0.1:${port}/`, { ca: certs.ca.cert })).to.deep.equal({
        error: "ECONNREFUSED",
      });
    } finally {
      session.destroy();
      agent.destroy();
    }
  });
});
