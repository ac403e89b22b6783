//! The MCP handler: lists the tools, resources and prompts, and turns each call into a tool
//! answer (structured content plus the same JSON as text, for clients that only read text) or
//! a tool error whose text the model reads.

use std::sync::Arc;

use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
        GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
        ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
        ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
        ServerConfig, Tool,
    },
    service::{RequestContext, RoleServer},
    ServerHandler,
};
use serde_json::Value;

use super::{calls, explain, prompts, tools};

/// URI of the catalog resource.
pub const CATALOG_URI: &str = "gregg://catalog";
/// URI of the last report resource.
pub const REPORT_URI: &str = "gregg://report/last";

/// The server: one per process, cloned per HTTP session (they share the clients and the last
/// report).
#[derive(Clone)]
pub struct GreggServer {
    state: Arc<calls::State>,
}

impl GreggServer {
    /// A server over `state`.
    pub fn new(state: Arc<calls::State>) -> Self {
        GreggServer { state }
    }
}

fn object(value: &Value) -> Arc<serde_json::Map<String, Value>> {
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

fn tool(spec: tools::ToolSpec) -> Tool {
    Tool::new(spec.name, spec.description, object(&spec.input))
        .with_raw_output_schema(object(&spec.output))
}

fn text_resource(uri: &str, mime: &str, text: String) -> ReadResourceResult {
    ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
        uri: uri.to_string(),
        mime_type: Some(mime.to_string()),
        text,
        meta: None,
    }])
}

impl ServerHandler for GreggServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = Implementation::new("gregg-insights", env!("CARGO_PKG_VERSION"));
        info.title = Some("Gregg Insights".into());
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(info)
        .with_instructions(
            "Brendan Gregg's performance methods over Prometheus. Start with `analyze` (summary first, most urgent insights); \
`drill_down` one host's component; `explain_check` says why a check fired. Prompts: use_sweep, investigate_host.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            tools::all().into_iter().map(tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let result = match calls::call(&self.state, &request.name, &arguments).await {
            Ok(answer) => CallToolResult::structured(answer),
            Err(e) => {
                tracing::info!(tool = %request.name, error = %e, "tool error");
                CallToolResult::error(vec![ContentBlock::text(e.to_string())])
            }
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(CATALOG_URI, "catalog")
                .with_description(
                    "Every USE check: rule, thresholds and their sources, book reference.",
                )
                .with_mime_type("application/json"),
            Resource::new(REPORT_URI, "last report")
                .with_description("The last analysis this server ran, as the Markdown report.")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let result = match request.uri.as_str() {
            CATALOG_URI => text_resource(
                CATALOG_URI,
                "application/json",
                serde_json::to_string_pretty(&explain::catalog()).unwrap_or_default(),
            ),
            REPORT_URI => {
                let last = calls::last_report(&self.state);
                text_resource(
                    REPORT_URI,
                    "text/markdown",
                    last.unwrap_or_else(|| {
                        "No analysis yet: call the `analyze` tool first.\n".into()
                    }),
                )
            }
            other => {
                return Err(ErrorData::resource_not_found(
                    format!("unknown resource `{other}`; known: {CATALOG_URI}, {REPORT_URI}"),
                    None,
                ))
            }
        };
        Ok(result.into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::all()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        match prompts::get(&request.name, &arguments) {
            Some(Ok(result)) => Ok(result.into()),
            Some(Err(message)) => Err(ErrorData::invalid_params(message, None)),
            None => Err(ErrorData::invalid_params(
                format!(
                    "unknown prompt `{}`; known: use_sweep, investigate_host",
                    request.name
                ),
                None,
            )),
        }
    }
}
