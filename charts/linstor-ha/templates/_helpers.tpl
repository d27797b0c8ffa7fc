{{/*
The chart's name, or nameOverride.
*/}}
{{- define "linstor-ha.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: fullnameOverride, the release's name
when it contains the chart's name, or <release>-<name>. Kept short enough
for the longest suffix (-scheduler:extension-apiserver-authentication-reader
is a ClusterRole name, which may be longer than 63).
*/}}
{{- define "linstor-ha.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, as the helm.sh/chart label.
*/}}
{{- define "linstor-ha.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
linstor-ha's own namespace: namespace.name or the release's.
*/}}
{{- define "linstor-ha.namespace" -}}
{{- default .Release.Namespace .Values.namespace.name }}
{{- end }}

{{/* Names of the parts' objects. */}}
{{- define "linstor-ha.scheduler.fullname" -}}
{{- printf "%s-scheduler" (include "linstor-ha.fullname" .) }}
{{- end }}
{{- define "linstor-ha.webhook.fullname" -}}
{{- printf "%s-webhook" (include "linstor-ha.fullname" .) }}
{{- end }}
{{- define "linstor-ha.sidecar.fullname" -}}
{{- printf "%s-sidecar" (include "linstor-ha.fullname" .) }}
{{- end }}
{{- define "linstor-ha.webhook.tlsSecret" -}}
{{- default (printf "%s-tls" (include "linstor-ha.webhook.fullname" .)) .Values.webhook.tls.secretName }}
{{- end }}

{{/*
Labels of every object: Helm's and the Kubernetes recommended ones. The
objects' own app.kubernetes.io/name (and component) come with each
template, as in manifests/.
*/}}
{{- define "linstor-ha.labels" -}}
helm.sh/chart: {{ include "linstor-ha.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ include "linstor-ha.name" . }}
{{- end }}

{{/*
Selector labels of a part's pods; the argument is (list $ "scheduler").
*/}}
{{- define "linstor-ha.selectorLabels" -}}
{{- $ := index . 0 }}
app.kubernetes.io/name: {{ printf "%s-%s" (include "linstor-ha.name" $) (index . 1) }}
app.kubernetes.io/instance: {{ $.Release.Name }}
{{- end }}

{{/*
Labels of the sidecar's objects, as manifests/sidecar gives them.
*/}}
{{- define "linstor-ha.sidecar.labels" -}}
{{ include "linstor-ha.labels" . }}
app.kubernetes.io/name: {{ include "linstor-ha.name" . }}
app.kubernetes.io/component: csi-sidecar
{{- end }}

{{/*
An image reference; the argument is (list $ .Values.<part>.image). The
tag defaults to the chart's appVersion, the release of the images.
*/}}
{{- define "linstor-ha.image" -}}
{{- $ := index . 0 }}
{{- $image := index . 1 }}
{{- printf "%s:%s" $image.repository (default $.Chart.AppVersion $image.tag) }}
{{- end }}

{{/*
The sidecar container and its token volume, the pod template that
components/piraeus and sidecar/csi-node-patch.yaml add to the CSI node
pods.
*/}}
{{- define "linstor-ha.sidecar.podSpec" -}}
containers:
- name: linstor-ha-sidecar
  image: {{ include "linstor-ha.image" (list . .Values.sidecar.image) }}
  {{- with .Values.sidecar.image.pullPolicy }}
  imagePullPolicy: {{ . }}
  {{- end }}
  args:
  - --csi-address=/csi/csi.sock
  - --drbdsetup=drbdsetup
  - --fail-over-timeout={{ .Values.sidecar.failOverTimeout }}
  - --http-endpoint=:{{ .Values.sidecar.httpPort }}
  {{- with .Values.sidecar.extraArgs }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  env:
  - name: NODE_NAME
    valueFrom:
      fieldRef:
        fieldPath: spec.nodeName
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
  ports:
  - name: ha-metrics
    containerPort: {{ .Values.sidecar.httpPort }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: ha-metrics
  livenessProbe:
    httpGet:
      path: /healthz
      port: ha-metrics
  securityContext:
    # drbdsetup needs CAP_NET_ADMIN for DRBD's netlink interface, like the
    # CSI node plugin it sits next to.
    capabilities:
      add: ["NET_ADMIN"]
    readOnlyRootFilesystem: true
  volumeMounts:
  - name: plugin-dir
    mountPath: /csi
  # The pod mounts no service account token: only this container gets
  # one, at the path in-cluster clients read.
  - name: linstor-ha-sidecar-token
    mountPath: /var/run/secrets/kubernetes.io/serviceaccount
    readOnly: true
  {{- with .Values.sidecar.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
volumes:
# What the kubelet mounts into a container of a pod that automounts its
# token: a bound token (the kubelet's own lifetime, renewed long before it
# runs out), the cluster's CA and the namespace.
- name: linstor-ha-sidecar-token
  projected:
    defaultMode: 0444
    sources:
    - serviceAccountToken:
        path: token
        expirationSeconds: 3607
    - configMap:
        name: kube-root-ca.crt
        items:
        - key: ca.crt
          path: ca.crt
    - downwardAPI:
        items:
        - path: namespace
          fieldRef:
            apiVersion: v1
            fieldPath: metadata.namespace
{{- end }}
