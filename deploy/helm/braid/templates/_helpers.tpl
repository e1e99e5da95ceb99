{{/*
Labels of one of Braid's components: its name and the part-of label every
Braid object carries (the NetworkPolicies and Services select on the name).
*/}}
{{- define "braid.labels" -}}
app.kubernetes.io/name: {{ . }}
app.kubernetes.io/part-of: braid
{{- end }}

{{- define "braid.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The gateways' headless Service, by the name agents resolve and check. */}}
{{- define "braid.gatewayDNS" -}}
braid-gateway-headless.{{ .Release.Namespace }}.svc
{{- end }}

{{/*
The --config flags of a Braid container: the shipped file, the overlays the
chosen features add, then the user's values. Argument: a dict with root
(the chart's context) and role ("agent" or "gateway").
*/}}
{{- define "braid.configArgs" -}}
{{- $v := .root.Values -}}
{{- $role := .role -}}
{{- $args := list (printf "--config=file:/etc/braid/%s.yaml" $role) -}}
{{- if $v.kafka.enabled -}}
{{- $args = append $args (printf "--config=file:/etc/braid/kafka-%s.yaml" $role) -}}
{{- end -}}
{{- if $v.tokenAuth.enabled -}}
{{- $args = append $args (printf "--config=file:/etc/braid/%s-auth.yaml" $role) -}}
{{- end -}}
{{- if (index $v $role).config -}}
{{- $args = append $args (printf "--config=file:/etc/braid/%s-values.yaml" $role) -}}
{{- end -}}
{{- toJson $args -}}
{{- end }}

{{/*
A ConfigMap's data: the shipped config and the overlays of the chosen
features, from files/ (copies of deploy/configs, held equal by cmd/braid's
tests), and the user's values.
*/}}
{{- define "braid.configData" -}}
{{- $v := .root.Values -}}
{{- $files := .root.Files -}}
{{- $role := .role -}}
{{ $role }}.yaml: |
{{- $files.Get (printf "files/%s.yaml" $role) | nindent 2 }}
{{- if $v.kafka.enabled }}
kafka-{{ $role }}.yaml: |
{{- $files.Get (printf "files/kafka-%s.yaml" $role) | nindent 2 }}
{{- end }}
{{- if $v.tokenAuth.enabled }}
{{ $role }}-auth.yaml: |
{{- $files.Get (printf "files/auth/%s.yaml" $role) | nindent 2 }}
{{- end }}
{{- with (index $v $role).config }}
{{ $role }}-values.yaml: |
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
