import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, Redis } from "ioredis";
import { createRedisClient, waitForRedis } from "../../lib/redis.js";
import { deletePrefix, freePort, scanKeys, type TestRedis } from "./redis.js";

const MASTERS = 3;
const SLOTS = 16_384;
const HOW_TO =
  "The Redis Cluster tests need redis-server 7 or later on PATH: apt-get install redis-server (Debian/Ubuntu) or brew install redis.";

/** A throwaway Redis Cluster of three masters on 127.0.0.1, for one test file. */
export interface TestRedisCluster {
  /**
   * REDIS_URL for REDIS_CLUSTER=true: every master as a seed node, comma-separated, each with the
   * cluster's password (every node requires it, so clients prove they pass it to every node).
   */
  readonly url: string;
  /** How long starting the cluster took, in ms (reported, never asserted). */
  readonly startupMs: number;
  /** Opens a client through createRedisClient (REDIS_CLUSTER=true), once the cluster client is ready. */
  connect(): Promise<Cluster>;
  /** Kills every node by its process id and removes the cluster's directory. */
  stop(): Promise<void>;
}

interface Node {
  readonly port: number;
  readonly busPort: number;
  readonly child: ChildProcess;
  readonly admin: Redis;
}

/**
 * Starts three redis-server processes with cluster mode on, in a temporary directory, without
 * persistence, on free ports; gives each a third of the slots (CLUSTER ADDSLOTSRANGE), joins them
 * (CLUSTER MEET) and waits until every node reports `cluster_state:ok` and knows the others. No
 * redis-cli is needed. Without redis-server the call fails with how to install it.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "teller-redis-cluster-"));
  const password = randomBytes(12).toString("hex");
  const nodes: Node[] = [];
  const stop = async () => {
    await Promise.all(nodes.map(stopNode));
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that exits without stop() (an interrupted run) still leaves nothing behind.
  const killAll = () => {
    for (const node of nodes) node.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killAll);
  try {
    for (let i = 0; i < MASTERS; i++) nodes.push(await startNode(dir, password, nodes));
    await formCluster(nodes);
  } catch (error) {
    await stop();
    process.off("exit", killAll);
    throw error;
  }
  const url = nodes.map((node) => `redis://:${password}@127.0.0.1:${node.port}`).join(",");
  return {
    url,
    startupMs: Math.round(performance.now() - started),
    async connect() {
      const cluster = createRedisClient({ redisUrl: url, redisCluster: true }) as Cluster;
      await waitForRedis(cluster, 10_000);
      return cluster;
    },
    async stop() {
      await stop();
      process.off("exit", killAll);
    },
  };
}

/**
 * A client of `cluster` with a key prefix of its own; cleanup deletes the prefix's keys on every
 * master and quits.
 */
export async function createTestClusterRedis(cluster: TestRedisCluster): Promise<TestRedis<Cluster>> {
  const redis = await cluster.connect();
  const prefix = `test:${randomBytes(6).toString("hex")}`;
  return { redis, prefix, cleanup: () => deletePrefix(redis, prefix).finally(() => redis.quit()) };
}

async function startNode(dir: string, password: string, others: readonly Node[]): Promise<Node> {
  const taken = new Set(others.flatMap((node) => [node.port, node.busPort]));
  const port = await freePortExcept(taken);
  const busPort = await freePortExcept(new Set([...taken, port]));
  const child = spawn(
    "redis-server",
    [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
      ...["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`],
      ...["--cluster-port", String(busPort), "--cluster-node-timeout", "5000"],
      ...["--save", "", "--appendonly", "no", "--requirepass", password],
    ],
    { stdio: "ignore" },
  );
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error(HOW_TO) : error),
    );
  });
  const admin = new Redis({ host: "127.0.0.1", port, password, lazyConnect: true, maxRetriesPerRequest: 0 });
  admin.on("error", () => {
    // Connection errors while the node starts are expected; answered() polls until it answers.
  });
  const node = { port, busPort, child, admin };
  await answered(node);
  return node;
}

async function answered(node: Node): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (node.child.exitCode !== null)
      throw new Error(`redis-server on ${node.port} exited (${node.child.exitCode})`);
    try {
      if (node.admin.status === "wait" || node.admin.status === "end") await node.admin.connect();
      if ((await node.admin.ping()) === "PONG") return;
    } catch {
      // Not listening yet: try again shortly.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on ${node.port} did not answer`);
}

async function formCluster(nodes: readonly Node[]): Promise<void> {
  const share = Math.ceil(SLOTS / nodes.length);
  await Promise.all(
    nodes.map(async (node, i) => {
      const first = i * share;
      const last = Math.min(SLOTS, first + share) - 1;
      await node.admin.call("CLUSTER", "ADDSLOTSRANGE", first, last);
      // Distinct epochs, as redis-cli --cluster create sets them, so no collision must be resolved.
      await node.admin.call("CLUSTER", "SET-CONFIG-EPOCH", i + 1);
    }),
  );
  const [seed, ...rest] = nodes as [Node, ...Node[]];
  for (const node of rest) await seed.admin.call("CLUSTER", "MEET", "127.0.0.1", node.port, node.busPort);
  for (let attempt = 0; attempt < 400; attempt++) {
    const infos = await Promise.all(
      nodes.map((node) => node.admin.call("CLUSTER", "INFO") as Promise<string>),
    );
    if (infos.every((info) => converged(info, nodes.length))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the test Redis Cluster did not reach cluster_state:ok within 20 s");
}

function converged(info: string, size: number): boolean {
  const fields = new Map(info.split(/\r?\n/).map((line) => line.split(":") as [string, string]));
  return (
    fields.get("cluster_state") === "ok" &&
    fields.get("cluster_known_nodes") === String(size) &&
    fields.get("cluster_slots_ok") === String(SLOTS)
  );
}

async function stopNode(node: Node): Promise<void> {
  node.admin.disconnect();
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  const exited = new Promise((resolve) => node.child.once("exit", resolve));
  node.child.kill("SIGTERM");
  await exited;
}

async function freePortExcept(taken: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!taken.has(port)) return port;
  }
}

/**
 * The keys under `prefix` on each master of `cluster`, by the master's port: lets a test show
 * that state really spread over several nodes, and that an erasure left no node holding any.
 */
export async function keysByMaster(cluster: Cluster, prefix: string): Promise<Map<number, string[]>> {
  const masters = cluster.nodes("master");
  const found = await Promise.all(masters.map((node) => scanKeys(node, `${prefix}:*`)));
  return new Map(masters.map((node, i) => [Number(node.options.port), found[i] ?? []]));
}
