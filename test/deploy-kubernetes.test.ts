import { readdir } from "node:fs/promises";
import { expect } from "chai";
import { READY_TIMEOUT_MS, type ReadyReport } from "../lib/admin-server.js";
import {
  adminServer,
  allReady,
  expectGatewaysAcceptedByCore,
  type Loaded,
  notReady,
} from "./support/deploy-checks.js";
import {
  type K8sObject,
  KUBERNETES,
  loadKubernetes,
  loadRecording,
  makeSecretsDir,
  type Process,
  readmeSecrets,
} from "./support/deploy-manifests.js";
import { mountedKey, podEnv, podOf, portNumber, selects } from "./support/k8s-pod.js";

/**
 * deploy/kubernetes against the code it runs: each Deployment's env, ConfigMaps and mounted
 * Secrets (as deploy/README.md creates them) load in the real config loaders, every variable read;
 * ports, probes, security, scaling and the NetworkPolicy are checked against what those configs
 * and lib/admin-server.ts really serve.
 */
describe("deploy/kubernetes", function () {
  this.timeout(60_000);
  let secrets: Awaited<ReturnType<typeof makeSecretsDir>>;
  let objects: K8sObject[];
  let deployments: K8sObject[];
  const loaded = {} as Loaded;
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);

  after(() => secrets?.cleanup());

  before(async () => {
    secrets = await makeSecretsDir();
    objects = (await loadKubernetes()).objects;
    deployments = ofKind("Deployment");
    const readme = await readmeSecrets();
    for (const deployment of deployments) {
      const env = podEnv(deployment, objects, readme, secrets.dir);
      const { process } = podOf(deployment);
      loaded[process] = { ...loadRecording(process, env), env } as Loaded[Process];
    }
  });

  it("should list every manifest in kustomization.yaml, each without a namespace", async () => {
    const { resources } = await loadKubernetes();
    const files = (await readdir(KUBERNETES)).filter(
      (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
    );
    expect([...resources].sort()).to.deep.equal(files.sort());
    for (const object of objects) expect(object.metadata, object.kind).to.not.have.property("namespace");
    expect(Object.keys(loaded).sort()).to.deep.equal(["core", "gateways"]);
  });

  it("should start core and gateways in production on their env, ConfigMaps and mounted Secrets, every variable read", () => {
    for (const { env, read, config } of Object.values(loaded)) {
      expect(config.production).to.equal(true);
      expect(Object.keys(env).filter((name) => !read.has(name))).to.deep.equal([]);
    }
  });

  it("should let the gateways' service tokens and client certificate through to the core", async () => {
    await expectGatewaysAcceptedByCore(loaded.core.config, loaded.gateways.config);
  });

  it("should mount secrets as read-only files of Secrets the README creates, never as variables", async () => {
    const readme = await readmeSecrets();
    for (const deployment of deployments) {
      const { pod, container } = podOf(deployment);
      expect(JSON.stringify(container.env), "secretKeyRef").to.not.include("secretKeyRef");
      expect(
        container.envFrom?.some((from) => from.secretRef),
        "envFrom secretRef",
      ).to.not.equal(true);
      for (const { name, value } of container.env ?? []) {
        if (!name.endsWith("_FILE")) continue;
        const mounted = mountedKey(pod, container, value as string);
        expect(mounted, `${name} lies in a mounted Secret key`).to.not.equal(undefined);
        const { secretName, key } = mounted as { secretName: string; key: string };
        expect(readme.get(secretName)?.has(key), `README creates ${secretName}/${key}`).to.equal(true);
        const mount = container.volumeMounts?.find((m) => (value as string).startsWith(`${m.mountPath}/`));
        expect(mount?.readOnly, `${name} mount`).to.equal(true);
      }
    }
  });

  it("should declare the ports the processes listen on, with Services routed to them", () => {
    for (const deployment of deployments) {
      const { container, labels, process } = podOf(deployment);
      const { config } = loaded[process];
      const listens = process === "core" ? [config.corePort, config.connectPort] : [config.gatewayPort];
      const declared = (container.ports ?? []).map((p) => p.containerPort).sort();
      expect(declared, process).to.deep.equal([...listens, config.adminPort].sort());
      const services = ofKind("Service").filter((s) => selects({ matchLabels: s.spec.selector }, labels));
      expect(services, `${process} Service`).to.have.length(1);
      for (const port of services[0]?.spec.ports ?? []) {
        expect(portNumber(container, port.targetPort), `${port.name} target`).to.not.equal(undefined);
      }
    }
  });

  it("should probe /healthz for liveness and /readyz for readiness on the admin port, HTTPS when TLS is on", async () => {
    for (const deployment of deployments) {
      const { container, process } = podOf(deployment);
      const { config } = loaded[process];
      for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const probe = container[kind]?.httpGet;
        if (probe === undefined && kind === "startupProbe") continue;
        expect(portNumber(container, probe.port), `${process} ${kind} port`).to.equal(config.adminPort);
        expect(probe.scheme, `${process} ${kind} scheme`).to.equal(config.tls ? "HTTPS" : "HTTP");
        const status = async (ready: () => Promise<ReadyReport>) => {
          const admin = await adminServer(ready);
          try {
            return (await fetch(`http://127.0.0.1:${admin.port}${probe.path}`)).status;
          } finally {
            await admin.close();
          }
        };
        const readiness = kind === "readinessProbe";
        expect(await status(notReady), `${process} ${kind} while Redis is down`).to.equal(
          readiness ? 503 : 200,
        );
        expect(await status(allReady), `${process} ${kind} when ready`).to.equal(200);
        if (readiness) {
          expect(container[kind].timeoutSeconds * 1000, "outlasts /readyz's bound").to.be.above(
            READY_TIMEOUT_MS,
          );
        }
      }
    }
  });

  it("should run non-root on a read-only root without privileges, DATA_DIR the only writable path, with resources", () => {
    for (const deployment of deployments) {
      const { pod, container, process } = podOf(deployment);
      expect(pod.securityContext).to.include({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
      expect(pod.automountServiceAccountToken, process).to.equal(false);
      const security = container.securityContext;
      expect(security, process).to.include({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      expect(security.capabilities.drop, process).to.deep.equal(["ALL"]);
      for (const bound of ["requests", "limits"]) {
        expect(container.resources[bound], `${process} ${bound}`).to.have.all.keys("cpu", "memory");
      }
      const writable = (container.volumeMounts ?? []).filter((m) => !m.readOnly);
      expect(
        writable.map((m) => m.mountPath),
        process,
      ).to.deep.equal([loaded[process].config.dataDir]);
      const volume = pod.volumes.find((v: { name: string }) => v.name === writable[0]?.name);
      expect(volume, `${process} data volume`).to.have.property("emptyDir");
    }
  });

  it("should run several replicas spread over nodes, each Deployment with a PodDisruptionBudget and an autoscaler", () => {
    for (const deployment of deployments) {
      const { pod, labels, process } = podOf(deployment);
      expect(deployment.spec.replicas, process).to.be.at.least(2);
      const spread = pod.topologySpreadConstraints.find(
        (c: { topologyKey: string }) => c.topologyKey === "kubernetes.io/hostname",
      );
      expect(spread?.whenUnsatisfiable, process).to.equal("DoNotSchedule");
      expect(selects(spread.labelSelector, labels), `${process} spread selector`).to.equal(true);
      const budgets = ofKind("PodDisruptionBudget").filter((b) => selects(b.spec.selector, labels));
      expect(budgets, `${process} PodDisruptionBudget`).to.have.length(1);
      const budget = budgets[0]?.spec;
      expect(budget.maxUnavailable ?? deployment.spec.replicas - budget.minAvailable, process).to.be.within(
        1,
        deployment.spec.replicas - 1,
      );
      const scalers = ofKind("HorizontalPodAutoscaler").filter(
        (h) => h.spec.scaleTargetRef.name === deployment.metadata.name,
      );
      expect(scalers, `${process} autoscaler`).to.have.length(1);
      expect(scalers[0]?.spec.scaleTargetRef.kind).to.equal("Deployment");
      expect(scalers[0]?.spec.minReplicas, process).to.be.at.least(2);
    }
    const targets = ofKind("HorizontalPodAutoscaler").map((h) => h.spec.scaleTargetRef.name);
    expect(targets.sort()).to.deep.equal(deployments.map((d) => d.metadata.name).sort());
  });

  it("should let only the gateways and labelled internal callers reach the core's RPC ports", () => {
    const pods = deployments.map(podOf);
    const core = pods.find((p) => p.process === "core") as ReturnType<typeof podOf>;
    const gateways = pods.find((p) => p.process === "gateways") as ReturnType<typeof podOf>;
    const policies = ofKind("NetworkPolicy").filter((p) => selects(p.spec.podSelector, core.labels));
    expect(policies).to.have.length(1);
    const policy = policies[0]?.spec;
    expect(policy.policyTypes).to.include("Ingress");
    const rpcPorts = [loaded.core.config.corePort, loaded.core.config.connectPort];
    const admitted = { gateways: false, callers: false };
    for (const rule of policy.ingress) {
      expect(rule.from, "every rule names its sources").to.be.an("array").that.is.not.empty;
      const ports = (rule.ports ?? []).map((p: { port: string | number }) =>
        portNumber(core.container, p.port),
      );
      if (rule.ports === undefined || ports.some((p: number) => rpcPorts.includes(p))) {
        for (const peer of rule.from) {
          const labels = peer.podSelector?.matchLabels ?? {};
          expect(peer.ipBlock, "no address range").to.equal(undefined);
          expect(Object.keys(labels), "a pod selector with labels").to.not.be.empty;
          const isGateway =
            selects(peer.podSelector, gateways.labels) && peer.namespaceSelector === undefined;
          const isCaller = !pods.some((p) => selects(peer.podSelector, p.labels));
          expect(isGateway || isCaller, JSON.stringify(peer)).to.equal(true);
          if (isGateway) admitted.gateways ||= ports.includes(loaded.core.config.corePort);
          if (isCaller) admitted.callers ||= ports.includes(loaded.core.config.corePort);
        }
      }
    }
    expect(admitted).to.deep.equal({ gateways: true, callers: true });
  });
});
