import { join } from "node:path";
import { type K8sObject, type Labels, OPERATOR_SETTINGS, type Process } from "./deploy-manifests.js";

/** The parts of a container spec these tests read. */
export interface Container {
  readonly name: string;
  readonly args?: readonly string[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
  readonly envFrom?: readonly {
    readonly configMapRef?: { readonly name: string };
    readonly secretRef?: unknown;
  }[];
  readonly volumeMounts?: readonly {
    readonly name: string;
    readonly mountPath: string;
    readonly readOnly?: boolean;
  }[];
  // biome-ignore lint/suspicious/noExplicitAny: probes, resources and securityContext are read field by field.
  readonly [field: string]: any;
}

/** A secret volume: the Secret's name and which of its keys land at which file path. */
export interface SecretVolume {
  readonly secretName: string;
  readonly items?: readonly { readonly key: string; readonly path: string }[];
}

/** The one container of a Deployment, the process it runs (its first argument) and the pod spec. */
export function podOf(deployment: K8sObject) {
  // biome-ignore lint/suspicious/noExplicitAny: see K8sObject.spec.
  const pod: any = deployment.spec.template.spec;
  const containers = pod.containers as Container[];
  if (containers.length !== 1) throw new Error(`${deployment.metadata.name}: expected one container`);
  const container = containers[0] as Container;
  return {
    pod,
    container,
    labels: deployment.spec.template.metadata.labels as Labels,
    process: container.args?.[0] as Process,
  };
}

/** True when every label a selector's matchLabels names is on `labels` (matchExpressions refused). */
export function selects(
  selector: { matchLabels?: Labels; matchExpressions?: unknown } | undefined,
  labels: Labels,
) {
  if (selector?.matchExpressions !== undefined)
    throw new Error("matchExpressions are not checked by this test");
  return Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

/** The container port a Service, probe or NetworkPolicy names, by name or number. */
export function portNumber(container: Container, port: string | number): number | undefined {
  if (typeof port === "number")
    return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * The environment a container starts with: its ConfigMaps (envFrom, empty values filled as an
 * operator would), then its literal `env`, with every `*_FILE` path turned into the local file
 * the mounted Secret key comes from, as `secrets` (Secret → key → file under `dir`) has it. A path
 * outside any mounted key points nowhere, so the loader reports the variable.
 */
export function podEnv(
  deployment: K8sObject,
  objects: readonly K8sObject[],
  secrets: ReadonlyMap<string, ReadonlyMap<string, string>>,
  dir: string,
): Record<string, string> {
  const { pod, container } = podOf(deployment);
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === name);
    if (!map)
      throw new Error(`${deployment.metadata.name}: envFrom names no ConfigMap of the base (${name})`);
    for (const [key, value] of Object.entries(map.data ?? {}))
      env[key] = value || (OPERATOR_SETTINGS[key] ?? "");
  }
  for (const item of container.env ?? []) {
    if (item.value === undefined) throw new Error(`${item.name}: only literal values are expected in env`);
    env[item.name] = item.value;
  }
  for (const [name, path] of Object.entries(env)) {
    if (name.endsWith("_FILE")) env[name] = localFile(pod, container, path, secrets, dir);
  }
  return env;
}

/** The Secret volume mounted over `path`, and the key that lands there; undefined when none. */
export function mountedKey(
  // biome-ignore lint/suspicious/noExplicitAny: see K8sObject.spec.
  pod: any,
  container: Container,
  path: string,
): { secretName: string; key: string } | undefined {
  const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
  const volume = (pod.volumes as { name: string; secret?: SecretVolume }[]).find(
    (v) => v.name === mount?.name,
  );
  if (!mount || !volume?.secret) return undefined;
  const file = path.slice(mount.mountPath.length + 1);
  const items = volume.secret.items;
  const key = items ? items.find((item) => item.path === file)?.key : file;
  return key === undefined ? undefined : { secretName: volume.secret.secretName, key };
}

function localFile(
  // biome-ignore lint/suspicious/noExplicitAny: see K8sObject.spec.
  pod: any,
  container: Container,
  path: string,
  secrets: ReadonlyMap<string, ReadonlyMap<string, string>>,
  dir: string,
): string {
  const mounted = mountedKey(pod, container, path);
  if (mounted === undefined) return join(dir, "not-mounted", path);
  const file = secrets.get(mounted.secretName)?.get(mounted.key);
  return join(dir, file ?? join("not-created-by-readme", mounted.secretName, mounted.key));
}
