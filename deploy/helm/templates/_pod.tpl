{{/*
The pod template shared by the Deployment (sharding.enabled false) and the StatefulSet (sharding.enabled
true): one place for the probes, the environment, the security settings and the volumes. The state
volume is the caller's: a PVC or an emptyDir for the Deployment, volumeClaimTemplates for the StatefulSet.
*/}}
{{- define "tsmetrics.podTemplate" -}}
metadata:
  labels:
    {{- include "tsmetrics.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- if not .Values.externalSecret.enabled }}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 30
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: tsmetrics
      image: {{ include "tsmetrics.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      ports:
        - name: http
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "tsmetrics.fullname" . }}
        - secretRef:
            name: {{ include "tsmetrics.secretName" . }}
      {{- if or .Values.sharding.enabled .Values.tailscale.workloadIdentity.enabled }}
      env:
        {{- if .Values.sharding.enabled }}
        # SHARD_INDEX=auto reads the StatefulSet ordinal from POD_NAME (<fullname>-2 -> shard 2).
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- if .Values.tailscale.tsnet.enabled }}
        # Every replica is a tailnet node of its own and needs its own host name: tsmetrics takes
        # TSNET_HOSTNAME literally, so it is the pod name (defined above, so $(POD_NAME) expands).
        - name: TSNET_HOSTNAME
          value: $(POD_NAME)
        {{- end }}
        {{- end }}
        {{- if .Values.tailscale.workloadIdentity.enabled }}
        # Workload identity federation: the projected token below, re-read by tsmetrics for every exchange
        # (the kubelet rotates it), instead of OAUTH_CLIENT_SECRET.
        - name: OAUTH_ID_TOKEN_FILE
          value: /var/run/secrets/tailscale/id-token
        {{- end }}
      {{- end }}
      # /startupz: 200 once the first refresh cycle has finished, which it does even when the Tailscale API
      # fails, so an API outage at boot cannot crash-loop the pod. In tsnet mode the server listens only once
      # tailscaled is logged in: 5 minutes (failureThreshold x periodSeconds) before liveness takes over.
      startupProbe:
        httpGet:
          path: /startupz
          port: http
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 30
      # /livez: the process serves HTTP. An API outage must not restart the pod.
      livenessProbe:
        httpGet:
          path: /livez
          port: http
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      # /readyz: 200 while a snapshot exists and the API data is fresh (or tsnet is "degraded").
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 3
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: state
          mountPath: /var/lib/tsmetrics
        {{- if .Values.tailscale.workloadIdentity.enabled }}
        - name: tailscale-id-token
          mountPath: /var/run/secrets/tailscale
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with .Values.tailscale.workloadIdentity }}
    {{- if .enabled }}
    # The pod's service account token for Tailscale (not for the Kubernetes API, whose token stays unmounted).
    - name: tailscale-id-token
      projected:
        sources:
          - serviceAccountToken:
              path: id-token
              audience: {{ .audience | default (printf "api.tailscale.com/%s" $.Values.tailscale.oauthClientId) | quote }}
              expirationSeconds: {{ .expirationSeconds | default 3600 }}
    {{- end }}
    {{- end }}
    {{- if not .Values.sharding.enabled }}
    - name: state
      {{- if .Values.persistence.enabled }}
      persistentVolumeClaim:
        claimName: {{ include "tsmetrics.claimName" . }}
      {{- else }}
      emptyDir:
        sizeLimit: 64Mi
      {{- end }}
    {{- else if not .Values.persistence.enabled }}
    # Without persistence each replica's tsnet state lives as long as its pod.
    - name: state
      emptyDir:
        sizeLimit: 64Mi
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
