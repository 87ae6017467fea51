{{/* Names and labels shared by every object of the chart. */}}
{{- define "remora.fullname" -}}
{{- printf "%s-%s" .Release.Name .Values.app.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "remora.labels" -}}
app.kubernetes.io/name: {{ .Values.app.name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "remora.selector" -}}
app.kubernetes.io/name: {{ .Values.app.name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* "true" when remora runs as a native sidecar (remora.sidecar, or the cluster's version). */}}
{{- define "remora.native" -}}
{{- $mode := .Values.remora.sidecar -}}
{{- if or (eq $mode "native") (and (eq $mode "auto") (semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version)) -}}
true
{{- end -}}
{{- end -}}

{{/* The registry block of remora.yaml: the values' own, with the Secrets' token and files. */}}
{{- define "remora.registry" -}}
{{- $registry := deepCopy .Values.remora.registry -}}
{{- if and .Values.remora.consulTokenSecret.name $registry.consul -}}
{{- $_ := set $registry.consul "token" "${CONSUL_HTTP_TOKEN}" -}}
{{- end -}}
{{- $tls := .Values.remora.etcdTLSSecret -}}
{{- if and $tls.name $registry.etcd -}}
{{- range $file := list "ca" "cert" "key" -}}
{{- if get $tls $file -}}
{{- $_ := set $registry.etcd $file (printf "/etc/remora-etcd-tls/%s" (get $tls $file)) -}}
{{- end -}}
{{- end -}}
{{- with $tls.serverName -}}
{{- $_ := set $registry.etcd "tls_server_name" . -}}
{{- end -}}
{{- end -}}
{{- toYaml $registry -}}
{{- end -}}
