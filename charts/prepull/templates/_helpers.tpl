{{/*
Chart name, truncated to 63 characters (DNS-1123 label limit).
*/}}
{{- define "prepull.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used as the prefix of every resource. Truncated to 51 characters so that the longest
suffix, "-broker-data", still fits in a 63-character name.
*/}}
{{- define "prepull.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 51 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 51 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 51 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Resource names of the three components. */}}
{{- define "prepull.broker.fullname" -}}
{{- printf "%s-broker" (include "prepull.fullname" .) }}
{{- end }}

{{- define "prepull.cloud.fullname" -}}
{{- include "prepull.fullname" . }}
{{- end }}

{{- define "prepull.edge.fullname" -}}
{{- printf "%s-edge" (include "prepull.fullname" .) }}
{{- end }}

{{/* Chart label value: name-version. */}}
{{- define "prepull.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels. Each resource adds its own app.kubernetes.io/component.
*/}}
{{- define "prepull.labels" -}}
helm.sh/chart: {{ include "prepull.chart" . }}
{{ include "prepull.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: prepull
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels (immutable once deployed). Each selector adds app.kubernetes.io/component.
*/}}
{{- define "prepull.selectorLabels" -}}
app.kubernetes.io/name: {{ include "prepull.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The prepull image reference (cloud and edge). */}}
{{- define "prepull.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The mosquitto image reference. */}}
{{- define "prepull.broker.image" -}}
{{- printf "%s:%s" .Values.broker.image.repository (toString .Values.broker.image.tag) }}
{{- end }}

{{/*
Host name of the broker: broker.host, or the in-cluster Service DNS name. The broker's server
certificate must carry it as a subjectAltName.
*/}}
{{- define "prepull.broker.host" -}}
{{- if .Values.broker.host }}
{{- .Values.broker.host }}
{{- else }}
{{- printf "%s.%s.svc" (include "prepull.broker.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Default broker URL: mqtts://<broker host>:<service port>. */}}
{{- define "prepull.broker.url" -}}
{{- printf "mqtts://%s:%d" (include "prepull.broker.host" .) (int .Values.broker.service.port) }}
{{- end }}

{{/* Broker URLs of the cloud controller and the edge workers. */}}
{{- define "prepull.cloud.brokerURL" -}}
{{- if .Values.cloud.brokerURL }}
{{- .Values.cloud.brokerURL }}
{{- else if .Values.broker.enabled }}
{{- include "prepull.broker.url" . }}
{{- else }}
{{- fail "cloud.brokerURL is required when broker.enabled is false" }}
{{- end }}
{{- end }}

{{- define "prepull.edge.brokerURL" -}}
{{- if .Values.edge.brokerURL }}
{{- .Values.edge.brokerURL }}
{{- else if .Values.broker.enabled }}
{{- include "prepull.broker.url" . }}
{{- else }}
{{- fail "edge.brokerURL is required when broker.enabled is false" }}
{{- end }}
{{- end }}

{{/* imagePullSecrets block for a pod spec (entries: names, or {name: ...} maps). */}}
{{- define "prepull.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  {{- if kindIs "map" . }}
  - name: {{ .name }}
  {{- else }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A cloud probe (list ROOT PROBE): the probe from values, with scheme HTTPS when the API serves TLS.
*/}}
{{- define "prepull.cloud.probe" -}}
{{- $root := index . 0 -}}
{{- $probe := deepCopy (index . 1) -}}
{{- if and $probe $root.Values.cloud.httpsTLS.existingSecret $probe.httpGet -}}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- if $probe -}}
{{- toYaml $probe -}}
{{- end -}}
{{- end -}}

{{/* The topic root on the chart's broker: topicRoot, or regions.coreTopicRoot when it is the core. */}}
{{- define "prepull.brokerTopicRoot" -}}
{{- if .Values.regions.enabled }}
{{- if hasPrefix "$" .Values.regions.coreTopicRoot }}
{{- fail "regions.coreTopicRoot must not start with \"$\": mosquitto delivers nothing to a shared subscription of a \"$\" topic" }}
{{- end }}
{{- .Values.regions.coreTopicRoot }}
{{- else }}
{{- .Values.topicRoot }}
{{- end }}
{{- end }}

{{/* A region's resource name (list ROOT REGION). */}}
{{- define "prepull.region.fullname" -}}
{{- $root := index . 0 -}}
{{- $region := index . 1 -}}
{{- printf "%s-broker-%s" (include "prepull.fullname" $root) $region.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The URL a region's nodes use (list ROOT REGION). */}}
{{- define "prepull.region.url" -}}
{{- $root := index . 0 -}}
{{- $region := index . 1 -}}
{{- $host := default (printf "%s.%s.svc" (include "prepull.region.fullname" (list $root $region)) $root.Release.Namespace) $region.host -}}
{{- printf "mqtts://%s:%d" $host (int $root.Values.broker.service.port) }}
{{- end }}

{{/* Checks the regions once: names, Secrets, the broker they bridge to. */}}
{{- define "prepull.regions.check" -}}
{{- if .Values.regions.enabled }}
{{- if not .Values.broker.enabled }}
{{- fail "regions.enabled needs broker.enabled: the chart's broker is the core the regions bridge to" }}
{{- end }}
{{- if not .Values.regions.list }}
{{- fail "regions.enabled needs at least one entry in regions.list" }}
{{- end }}
{{- range .Values.regions.list }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" (toString .name)) }}
{{- fail (printf "regions.list: name %q is not a DNS label" (toString .name)) }}
{{- end }}
{{- if not (and .tls .tls.existingSecret) }}
{{- fail (printf "regions.list[%s].tls.existingSecret is required (ca.crt, server.crt, server.key, bridge.crt, bridge.key)" .name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
