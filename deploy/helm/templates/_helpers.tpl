{{/* Chart name, truncated to 63 characters (DNS label limit). */}}
{{- define "tsmetrics.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "tsmetrics.fullname" -}}
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

{{- define "tsmetrics.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tsmetrics.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tsmetrics.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tsmetrics.labels" -}}
helm.sh/chart: {{ include "tsmetrics.chart" . }}
{{ include "tsmetrics.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: exporter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Secret the pod reads its credentials from: the chart's own, or externalSecret.secretName. */}}
{{- define "tsmetrics.secretName" -}}
{{- if .Values.externalSecret.enabled }}
{{- required "externalSecret.secretName is required when externalSecret.enabled is true" .Values.externalSecret.secretName }}
{{- else }}
{{- include "tsmetrics.fullname" . }}
{{- end }}
{{- end }}

{{- define "tsmetrics.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "tsmetrics.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-state" (include "tsmetrics.fullname" .)) }}
{{- end }}

{{/* The headless Service of the sharded StatefulSet (its serviceName), within the 63-character limit. */}}
{{- define "tsmetrics.headlessName" -}}
{{- printf "%s-headless" (include "tsmetrics.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}
