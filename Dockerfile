# Airflow 3.3 with the review pipeline installed against the project's
# constraints. DAGs and plugins are mounted by docker-compose.yml, so editing
# them needs no rebuild; the package and its SQL do.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ARG AIRFLOW_VERSION
ENV REVIEW_SQL_DIR=/opt/review/sql

COPY --chown=airflow:0 pyproject.toml constraints.txt README.md /opt/review/
COPY --chown=airflow:0 review_pipeline /opt/review/review_pipeline
COPY --chown=airflow:0 sql /opt/review/sql

# Pin Airflow itself so pip never up- or downgrades the image's Airflow.
RUN pip install --no-cache-dir \
        -c /opt/review/constraints.txt \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "apache-airflow-providers-celery" \
        /opt/review
