{{/* Shared labels and names for the platoon chart. */}}
{{- define "platoon.labels" -}}
app.kubernetes.io/name: platoon
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "platoon.selector" -}}
app.kubernetes.io/name: platoon
app.kubernetes.io/component: scheduler
{{- end }}

{{- define "platoon.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
