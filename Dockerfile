# syntax=docker/dockerfile:1
# One image for every Airflow service in docker-compose.yml
# (api-server, scheduler, dag-processor, triggerer, init).
# python:3.11-slim-bookworm (Python 3.11.16), pinned by digest from docker-library/repo-info
# repos/python/remote/3.11-slim-bookworm.md; refresh with `docker buildx imagetools inspect`
FROM python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b

# uv, pinned to the version that produced uv.lock.
RUN pip install --no-cache-dir uv==0.13.9

# curl: container healthchecks. pango/harfbuzz: WeasyPrint (board-pack PDFs).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        curl \
        ca-certificates \
        tini \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# The venv lives OUTSIDE /opt/procure so the compose bind mount (.:/opt/procure)
# never shadows it.
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    PROCURE_HOME=/opt/procure

WORKDIR /opt/procure

# 1) Dependencies only (cached layer: changes only when the lock changes).
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --compile-bytecode --no-install-project

# 2) The project itself (the procure package from plugins/procure and the GX suites in
#    expectations/), non-editable so the installed package does not depend on the bind mount.
COPY README.md ./
COPY plugins ./plugins
COPY expectations ./expectations
RUN uv sync --frozen --no-dev --compile-bytecode --no-editable

# Rest of the project (dags, dbt project, expectations, config) so the image
# also works without the bind mount.
COPY . .

# Unprivileged runtime user; group 0 + g+rwX lets any AIRFLOW_UID (run as
# "<uid>:0" from compose) write AIRFLOW_HOME and the named log volume.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth /opt/procure/warehouse /opt/procure/publish \
    && chown -R 50000:0 /opt/airflow /opt/procure \
    && chmod -R g+rwX /opt/airflow /opt/procure
USER 50000:0

EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
