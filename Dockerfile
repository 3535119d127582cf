# One image for every service of E-Mudra-Bajar; docker-compose.yml picks the module per service
# (`python -m engine`, `python -m api`, ...). Three stages: the frontend's static export (Node), a wheel
# of the project with the engine's hot modules compiled by mypyc (needs a C compiler), and the slim
# runtime that installs that wheel and nothing else.

FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
# Until frontend/package.json exists there is nothing to build; the API then serves no UI at /.
RUN if [ -f package.json ]; then \
      npm ci --no-audit --no-fund && NEXT_TELEMETRY_DISABLED=1 npm run build; \
    else mkdir -p out; fi

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FRONTEND_DIR=/app/frontend/out
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && useradd --system --create-home --home-dir /app mudra
COPY --from=frontend /src/frontend/out /app/frontend/out
WORKDIR /app
USER mudra
EXPOSE 8000 8001
CMD ["python", "-m", "api"]
