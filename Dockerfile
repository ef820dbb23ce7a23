# The operator image: `docker build -t astra-operator:0.1.0 .`
# Runs `astra-operator run` as a non-root user; configure it with ASTRA_* variables
# (the Helm chart in helm/astra-operator sets them). Only runtime dependencies are installed.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
# A regular (not editable) install, without the test and lint extras; pip byte-compiles the
# modules here, so nothing needs writing at run time (the chart mounts the root read-only).
RUN pip install --no-cache-dir .

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 astra \
    && useradd --system --uid 10001 --gid astra --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin astra
COPY --from=build /opt/venv /opt/venv
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
# kopf's liveness endpoint, when started with --liveness http://0.0.0.0:8080/healthz, and the
# Prometheus metrics, when ASTRA_METRICS_PORT=8081 (the chart's defaults).
EXPOSE 8080 8081
ENTRYPOINT ["astra-operator", "run"]
