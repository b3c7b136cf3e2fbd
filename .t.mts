import { PGlite } from "@electric-sql/pglite";
let t = Date.now();
const a = new PGlite(); await a.query("select 1"); console.log("start", Date.now() - t); t = Date.now();
const b = new PGlite(); await b.query("select 1"); console.log("start2", Date.now() - t); t = Date.now();
const c = await a.clone(); await c.query("select 1"); console.log("clone", Date.now() - t); t = Date.now();
const dump = await a.dumpDataDir("none"); console.log("dump", Date.now() - t); t = Date.now();
const d = new PGlite({ loadDataDir: dump }); await d.query("select 1"); console.log("load", Date.now() - t);
