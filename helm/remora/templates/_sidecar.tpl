{{/* The remora container, the same as a native sidecar (an init container) or beside the app. */}}
{{- define "remora.sidecar" -}}
{{- $native := include "remora.native" . -}}
- name: remora
  image: {{ .Values.remora.image }}
  imagePullPolicy: {{ .Values.remora.imagePullPolicy }}
  {{- if $native }}
  # Always: a native sidecar, started (and its startup probe passed) before the app, stopped
  # after it.
  restartPolicy: Always
  {{- end }}
  args: ["-c", "/etc/remora/remora.yaml", "--log-level", "{{ .Values.remora.logLevel }}"]
  env:
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    # The node's address, where a Consul agent usually runs (a DaemonSet).
    - name: HOST_IP
      valueFrom: {fieldRef: {fieldPath: status.hostIP}}
    {{- with .Values.remora.consulTokenSecret }}
    {{- if .name }}
    - name: CONSUL_HTTP_TOKEN
      valueFrom: {secretKeyRef: {name: {{ .name }}, key: {{ .key }}}}
    {{- end }}
    {{- end }}
  ports:
    - {name: inbound, containerPort: {{ .Values.remora.inboundPort }}}
    - {name: probe, containerPort: {{ .Values.remora.probePort }}}
  # Every probe on the read-only probe listener: the full admin is on loopback only.
  startupProbe:
    # With a registration, /ready waits for the app, which a native sidecar's startup probe
    # holds back: then remora only has to be serving.
    httpGet: {path: {{ ternary "/healthz" "/ready" .Values.remora.register.enabled }}, port: probe}
    periodSeconds: 1
    failureThreshold: 60
  readinessProbe:
    httpGet: {path: /ready, port: probe}
    periodSeconds: 2
    failureThreshold: 1
  livenessProbe:
    httpGet: {path: /healthz, port: probe}
    periodSeconds: 10
    failureThreshold: 3
  {{- if .Values.remora.preStopSleepSeconds }}
  lifecycle:
    # The image has no HTTP client to POST /drain with (and remora no command for it): a sleep,
    # after which the kubelet's SIGTERM starts the drain; the grace period covers both.
    preStop:
      exec: {command: ["sleep", "{{ .Values.remora.preStopSleepSeconds }}"]}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ .Values.remora.runAsUser }}
    runAsGroup: {{ .Values.remora.runAsUser }}
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}
    seccompProfile: {type: RuntimeDefault}
  resources:
    {{- toYaml .Values.remora.resources | nindent 4 }}
  volumeMounts:
    - {name: remora-config, mountPath: /etc/remora, readOnly: true}
    {{- if .Values.remora.etcdTLSSecret.name }}
    - {name: etcd-tls, mountPath: /etc/remora-etcd-tls, readOnly: true}
    {{- end }}
{{- end -}}
