{{/* Names, labels and the RBAC rules of the chart. */}}

{{- define "astra-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name, at most 63 characters (a DNS label). */}}
{{- define "astra-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "astra-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "astra-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "astra-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "astra-operator.labels" -}}
helm.sh/chart: {{ include "astra-operator.chart" . }}
{{ include "astra-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "astra-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "astra-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "astra-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Refuse values the operator cannot honour, before anything is applied. */}}
{{- define "astra-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount above 1 needs leaderElection.enabled: without the Lease every replica would reconcile every object (two creates for one database)" }}
{{- end }}
{{- range .Values.watchNamespaces }}
{{- if or (contains "*" .) (contains "?" .) (hasPrefix "!" .) }}
{{- fail (printf "watchNamespaces takes exact names, not globs or negations (%q): the chart creates one Role per namespace" .) }}
{{- end }}
{{- end }}
{{- include "astra-operator.validateNamespaces" . }}
{{- if and .Values.credentials.create (not .Values.credentials.token) }}
{{- fail "credentials.token is required when credentials.create is true" }}
{{- end }}
{{- $served := .Values.defaultCredentialsNamespaces | default list }}
{{- if and (has "*" $served) (gt (len $served) 1) }}
{{- fail "defaultCredentialsNamespaces is either [\"*\"] (every watched namespace) or a list of namespace names, not both" }}
{{- end }}
{{- if .Values.watchNamespaces }}
{{- range $served }}
{{- if and (ne . "*") (not (has . $.Values.watchNamespaces)) }}
{{- fail (printf "defaultCredentialsNamespaces lists %q, which is not in watchNamespaces: the operator never sees objects there" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Every watched namespace must exist: the chart creates a Role in each, and never the namespace
itself (helm uninstall would delete it, with everything in it). Checked against the cluster
(listing namespaces, which the chart's own ClusterRole grants in this mode, so whoever may
install it may list them); the release namespace is exempt (--create-namespace makes it).
`helm template` (ArgoCD) has no cluster to look at: the lookup is empty and nothing is checked.
*/}}
{{- define "astra-operator.validateNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- $listed := lookup "v1" "Namespace" "" "" }}
{{- if $listed }}
{{- $existing := list }}
{{- range ($listed.items | default list) }}
{{- $existing = append $existing .metadata.name }}
{{- end }}
{{- $missing := list }}
{{- range (uniq .Values.watchNamespaces) }}
{{- if and (ne . $.Release.Namespace) (not (has . $existing)) }}
{{- $missing = append $missing . }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "watchNamespaces: namespace %s does not exist. Create it first (kubectl create namespace %s), then install: the chart creates a Role in each watched namespace but never the namespace itself (helm uninstall would delete it, with everything in it)" (join ", " $missing) (join " " $missing)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Whether any object the operator handles may use the default token Secret (no
spec.credentials): "true" or "". The operator allows it in the namespaces listed in
defaultCredentialsNamespaces (ASTRA_DEFAULT_CREDENTIALS_NAMESPACES) or, when that is empty,
in the release namespace only, which serves nothing when watchNamespaces leaves it out.
*/}}
{{- define "astra-operator.defaultTokenUsed" -}}
{{- if or .Values.defaultCredentialsNamespaces (not .Values.watchNamespaces) (has .Release.Namespace .Values.watchNamespaces) }}true{{ end }}
{{- end }}

{{/*
Rules in the namespaces the operator serves (a ClusterRole when it watches all namespaces,
a Role per watched namespace otherwise). Every kind (AstraDatabase, AstraRole, AstraToken) runs
on the same engine and gets the same rules. Each rule, and why:
- astradatabases, astraroles, astratokens get/list/watch/patch: kopf lists and watches them,
  patches its annotations and our finalizer; the reconciler reads each object fresh (get)
  before a pass, an AstraRole reads the AstraDatabases its spec.resources[].databaseRef name
  and an AstraToken the AstraRoles its spec.roles[].roleRef name (get).
- astradatabases/status, astraroles/status, astratokens/status patch: the reconciler
  merge-patches status (phase, conditions, ids).
- astradatabases/finalizers, astratokens/finalizers update: connection Secrets and token
  Secrets carry an ownerReference with blockOwnerDeletion, which clusters running the
  OwnerReferencesPermissionEnforcement admission plugin (OpenShift, hardened clusters) only
  allow with this permission. astraroles/finalizers update: the same rule for AstraRole, so
  every kind carries one rule set (an AstraRole owns no Kubernetes object today).
- events create: our Events (kopf.event) are core v1 Events, posted with POST only.
- secrets get/create/update: reads token Secrets (spec.credentials.secretRef), creates and
  replaces connection Secrets and AstraToken output Secrets (reads them back to notice one
  deleted or edited by hand; with deletionPolicy Retain, update drops its ownerReference).
  Names are user-chosen, so resourceNames cannot narrow this; use watchNamespaces to narrow it
  to namespaces.
Never granted: create/update/delete of any kind (users own their objects), status update
(only merge patches), listing, watching or deleting Secrets.
*/}}
{{- define "astra-operator.namespacedRules" -}}
- apiGroups: ["astra.operator.dev"]
  resources: ["astradatabases", "astraroles", "astratokens"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["astra.operator.dev"]
  resources: ["astradatabases/status", "astraroles/status", "astratokens/status"]
  verbs: ["patch"]
- apiGroups: ["astra.operator.dev"]
  resources: ["astradatabases/finalizers", "astraroles/finalizers", "astratokens/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update"]
{{- end }}

{{/*
Rules in the release namespace for leader election (leaderElection.enabled): the one Lease the
replicas compete for, named like the release (ASTRA_LEADER_LEASE_NAME).
- leases create: the first replica to start creates it (create cannot be narrowed to a name).
- leases get/update, that Lease only: read it, take it over when free or expired, renew it,
  release it on a graceful stop.
Never granted: list, watch, patch or delete of leases, or any other Lease.
*/}}
{{- define "astra-operator.leaseRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: [{{ include "astra-operator.fullname" . | quote }}]
  verbs: ["get", "update"]
{{- end }}

{{/*
Cluster-scoped rules kopf needs for discovery:
- customresourcedefinitions list/watch: kopf watches CRDs to notice ours being (re)installed
  or changed. Without it kopf logs a 403 ERROR per retry (9 of them) at start-up, then
  gives up watching CRDs.
- namespaces list/watch, only when watching chosen namespaces: kopf lists and watches
  namespaces to start and stop per-namespace watches. Without it kopf retries the list 9
  times (over a minute) before falling back to the exact names. Never used when watching all
  namespaces, so not granted then.
*/}}
{{- define "astra-operator.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if .Values.watchNamespaces }}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
{{- end }}
