{{/*
Names. The chart deploys one component per service; every per-service object is named <fullname>-<service>.
*/}}
{{- define "mailbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mailbridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mailbridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <fullname>-<service>. Call with (dict "root" $ "service" "conversations"). */}}
{{- define "mailbridge.componentName" -}}
{{- printf "%s-%s" (include "mailbridge.fullname" .root) .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mailbridge.labels" -}}
helm.sh/chart: {{ include "mailbridge.chart" . }}
app.kubernetes.io/name: {{ include "mailbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mailbridge
{{- end -}}

{{/* Labels of one service's objects. Call with (dict "root" $ "service" $name). */}}
{{- define "mailbridge.componentLabels" -}}
{{ include "mailbridge.labels" .root }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/* Selector labels: immutable on a Deployment, so never add the version or the chart here. */}}
{{- define "mailbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mailbridge.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/*
A service's effective settings: serviceDefaults overlaid with services.<name> (maps merge, lists and scalars of the
service win). Returned as YAML; use with fromYaml.
*/}}
{{- define "mailbridge.settings" -}}
{{- $own := index .root.Values.services .service -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $own)) -}}
{{- end -}}

{{/* The image of a service: [registry/]repository/<service>:tag (tag defaults to the chart's appVersion). */}}
{{- define "mailbridge.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := printf "%s/%s" $img.repository .service -}}
{{- if $img.registry -}}
{{- $repo = printf "%s/%s" $img.registry $repo -}}
{{- end -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}

{{/* What the image runs (the command the README documents); the migration Job appends "migrate". */}}
{{- define "mailbridge.entrypoint" -}}
{{- printf "dist/apps/%s/apps/%s/src/main.js" .service .service -}}
{{- end -}}

{{/*
Non-secret environment of a service: config (shared) overlaid with services.<name>.config, each value rendered with
tpl so values can refer to the release (e.g. another service's in-cluster URL). Empty values are kept: the services
treat an empty variable as unset, and the key documents the setting. Returned as YAML.
*/}}
{{- define "mailbridge.configData" -}}
{{- $own := index .root.Values.services .service -}}
{{- $data := mergeOverwrite (deepCopy .root.Values.config) (deepCopy (default (dict) $own.config)) -}}
{{- $out := dict -}}
{{- range $key, $value := $data -}}
{{- $_ := set $out $key (tpl (toString $value) $.root) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Secret environment of a service as container env entries: secrets.env (shared) overlaid with services.<name>.secretEnv.
Values always come from an existing Secret (secrets.existingSecret, or the entry's own secretName): the chart never
holds secret values.
*/}}
{{- define "mailbridge.secretEnv" -}}
{{- $own := index .root.Values.services .service -}}
{{- $entries := mergeOverwrite (deepCopy .root.Values.secrets.env) (deepCopy (default (dict) $own.secretEnv)) -}}
{{- $list := list -}}
{{- range $name, $ref := $entries -}}
{{- $ref = default (dict) $ref -}}
{{- $selector := dict "name" (default $.root.Values.secrets.existingSecret $ref.secretName) "key" (default $name $ref.key) -}}
{{- if $ref.optional -}}
{{- $_ := set $selector "optional" true -}}
{{- end -}}
{{- $list = append $list (dict "name" $name "valueFrom" (dict "secretKeyRef" $selector)) -}}
{{- end -}}
{{- if $list -}}
{{- toYaml $list -}}
{{- end -}}
{{- end -}}

{{/* Variables the chart itself owns; listed once so the Deployment and the migration Job agree. */}}
{{- define "mailbridge.fixedEnv" -}}
- name: PORT
  value: {{ .settings.port | toString | quote }}
{{- end -}}

{{/* The same non-secret environment as the ConfigMap, inline (for hooks, which run before the ConfigMap exists). */}}
{{- define "mailbridge.configEnv" -}}
{{- $list := list -}}
{{- range $key, $value := fromYaml (include "mailbridge.configData" .) -}}
{{- $list = append $list (dict "name" $key "value" (toString $value)) -}}
{{- end -}}
{{- if $list -}}
{{- toYaml $list -}}
{{- end -}}
{{- end -}}

{{/* In-cluster base URL of a service, e.g. for IDENTITY_CONNECTIONS_URL. Call with (dict "root" . "service" $name). */}}
{{- define "mailbridge.serviceUrl" -}}
{{- $own := index .root.Values.services .service -}}
{{- printf "http://%s:%v" (include "mailbridge.componentName" .) $own.port -}}
{{- end -}}

{{/*
Public base URL of the provider-facing routes (OAuth callback, webhooks): from ingress.providers.host, https when it
has TLS. Empty without a host (the services then fall back to their localhost defaults, which no provider can reach).
*/}}
{{- define "mailbridge.providersUrl" -}}
{{- $ing := .Values.ingress.providers -}}
{{- if and $ing.enabled $ing.host -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty $ing.tls))) $ing.host -}}
{{- end -}}
{{- end -}}

{{/*
Values the services cannot start without: rendering stops with a message naming the value (values.schema.json refuses
most of them first; these also catch values removed with --set x=null or a values file that drops them).
*/}}
{{- define "mailbridge.validate" -}}
{{- $_ := required "config.KAFKA_BROKERS is required: host:port,host:port of the Kafka bootstrap servers" .Values.config.KAFKA_BROKERS -}}
{{- $_ := required "secrets.existingSecret is required: the Secret holding DATABASE_URL and the other secret variables" .Values.secrets.existingSecret -}}
{{- range $audience := list "crm" "providers" -}}
{{- $ing := index $.Values.ingress $audience -}}
{{- if $ing.enabled -}}
{{- $_ := required (printf "ingress.%s.host is required while ingress.%s.enabled is true (an empty host would answer for every host)" $audience $audience) $ing.host -}}
{{- end -}}
{{- end -}}
{{- range $service, $own := .Values.services -}}
{{- if $own.enabled -}}
{{- $entries := mergeOverwrite (deepCopy $.Values.secrets.env) (deepCopy (default (dict) $own.secretEnv)) -}}
{{- if not (hasKey $entries "DATABASE_URL") -}}
{{- fail (printf "DATABASE_URL is required for %s: set secrets.env.DATABASE_URL or services.%s.secretEnv.DATABASE_URL" $service $service) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
